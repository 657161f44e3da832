import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeName, provisioningConfigMapName } from '../../src/api/labels.ts';
import { nameRule } from '../../src/api/crd.ts';

/** What a Service name must be: a DNS-1035 label. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const long = (n: number, start = 'p') => (start + 'x'.repeat(n)).slice(0, n);

const cases: { what: string; pool: string; want?: string | RegExp }[] = [
  { what: 'a name that fits keeps <pool>-edge, as before', pool: 'london-office', want: 'london-office-edge' },
  { what: 'exactly 58 characters still fits', pool: long(58), want: `${long(58)}-edge` },
  { what: 'a dot cannot be in a Service name', pool: 'london.office', want: /^edge-london-office-[0-9a-f]{8}$/ },
  { what: 'a leading digit cannot start a Service name', pool: '3rd-floor', want: /^edge-3rd-floor-[0-9a-f]{8}$/ },
  { what: '59 characters would make <pool>-edge 64', pool: long(59), want: new RegExp(`^edge-${long(49)}-[0-9a-f]{8}$`) },
  { what: 'the longest pool name there is (63)', pool: long(63) },
  { what: 'a dot at the cut is not left dangling', pool: `${'a'.repeat(48)}.b${'c'.repeat(12)}`, want: new RegExp(`^edge-${'a'.repeat(48)}-[0-9a-f]{8}$`) },
];

for (const { what, pool, want } of cases) {
  test(`edge name: ${what}`, () => {
    const name = edgeName(pool);
    assert.match(name, SERVICE_NAME, `${name} is not a Service name`);
    assert.ok(name.length <= 63, `${name} has ${name.length} characters`);
    assert.equal(edgeName(pool), name, 'the same pool always gets the same name');
    if (typeof want === 'string') assert.equal(name, want);
    else if (want) assert.match(name, want);
  });
}

test('edge names of pools that differ only where the name was rewritten stay apart', () => {
  assert.notEqual(edgeName('london.office'), edgeName('london-office'));
  assert.notEqual(edgeName(`${long(60)}a`), edgeName(`${long(60)}b`));
});

test('a provisioning ConfigMap name fits for every device name the API server accepts', () => {
  const longest = long(63, 'd');
  assert.equal(provisioningConfigMapName('desk-3f-12'), 'desk-3f-12-provisioning');
  assert.ok(provisioningConfigMapName(longest).length <= 253);
});

test('pools and devices carry a name rule; users and sessions do not', () => {
  assert.match(nameRule('pool')?.rule ?? '', /self\.metadata\.name\.size\(\) <= 63/);
  assert.match(nameRule('device')?.message ?? '', /metadata\.name of a HotDeskDevice may have at most 63 characters/);
  assert.equal(nameRule('user'), undefined);
  assert.equal(nameRule('session'), undefined);
});
