import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_KEY_CAPACITY, describeDropped, keyCapacity, planKeys, type KeyPlanInput } from '../../src/provisioning/keys.ts';
import type { ProvisionedKey } from '../../src/provisioning/model.ts';

const blf = (ext: string): ProvisionedKey => ({ type: 'blf', value: ext, label: `Ext ${ext}` });
const LOGOUT: ProvisionedKey = { type: 'logout', value: '*77*5*', label: 'Logout' };
const EMPTY: ProvisionedKey = { type: 'empty', value: '', label: '' };
const USER = [blf('102'), blf('103'), blf('104')];

const base: Omit<KeyPlanInput, 'policy' | 'capacity'> = { identityKind: 'occupied', userKeys: USER, logoutCode: '*77*5*' };

describe('planKeys', () => {
  const table: { name: string; input: KeyPlanInput; keys: ProvisionedKey[]; droppedPositions: number[] }[] = [
    { name: 'shift: logout first, user keys move down one', input: { ...base, policy: 'shift', capacity: 10 }, keys: [LOGOUT, ...USER], droppedPositions: [] },
    { name: 'shift: exactly full', input: { ...base, policy: 'shift', capacity: 4 }, keys: [LOGOUT, ...USER], droppedPositions: [] },
    { name: 'shift: the shift pushes the last user key off', input: { ...base, policy: 'shift', capacity: 3 }, keys: [LOGOUT, blf('102'), blf('103')], droppedPositions: [3] },
    { name: 'shift: one key holds only the logout key', input: { ...base, policy: 'shift', capacity: 1 }, keys: [LOGOUT], droppedPositions: [1, 2, 3] },
    { name: 'shift: no keys at all', input: { ...base, policy: 'shift', capacity: 0 }, keys: [], droppedPositions: [1, 2, 3] },
    { name: 'replace: user keys in place, logout on the last key', input: { ...base, policy: 'replace', capacity: 6 }, keys: [...USER, EMPTY, EMPTY, LOGOUT], droppedPositions: [] },
    { name: 'replace: the last key is the logout key even when the user has one there', input: { ...base, policy: 'replace', capacity: 3 }, keys: [blf('102'), blf('103'), LOGOUT], droppedPositions: [3] },
    { name: 'none: user keys only', input: { ...base, policy: 'none', capacity: 10 }, keys: USER, droppedPositions: [] },
    { name: 'none: truncated to the model', input: { ...base, policy: 'none', capacity: 2 }, keys: [blf('102'), blf('103')], droppedPositions: [3] },
    { name: 'idle: no keys whatever the policy', input: { ...base, identityKind: 'idle', policy: 'shift', capacity: 10 }, keys: [], droppedPositions: [] },
    { name: 'idle with replace: still no logout key', input: { ...base, identityKind: 'idle', policy: 'replace', capacity: 10 }, keys: [], droppedPositions: [] },
    { name: 'custom logout label', input: { ...base, policy: 'shift', capacity: 2, logoutLabel: 'Abmelden' }, keys: [{ ...LOGOUT, label: 'Abmelden' }, blf('102')], droppedPositions: [2, 3] },
  ];
  for (const row of table) {
    it(row.name, () => {
      const plan = planKeys(row.input);
      assert.deepEqual(plan.keys, row.keys);
      assert.deepEqual(plan.dropped.map((d) => d.position), row.droppedPositions);
      for (const d of plan.dropped) assert.deepEqual(d.key, USER[d.position - 1], 'a dropped entry names the user key that was lost');
      assert.ok(plan.keys.length <= Math.max(0, row.input.capacity), 'never more keys than the model has');
    });
  }

  it('describes dropped keys for an Event', () => {
    const plan = planKeys({ ...base, policy: 'shift', capacity: 2 });
    assert.equal(describeDropped(plan.dropped, 'T33G'), '2 key(s) do not fit on a T33G: #2 blf Ext 103, #3 blf Ext 104');
  });
});

describe('keyCapacity', () => {
  const table: [Parameters<typeof keyCapacity>[0], string, number][] = [
    ['yealink', 'T54W', 27],
    ['yealink', 'SIP-T46U', 27],
    ['yealink', 't33g', 4],
    ['grandstream', 'GRP2614', 24],
    ['polycom', 'VVX 450', 12],
    ['polycom', 'VVX-450', 12],
    ['snom', 'D785', 12],
    ['fanvil', 'X6U', 12],
    ['yealink', 'T99Z', DEFAULT_KEY_CAPACITY],
    ['custom', 'anything', DEFAULT_KEY_CAPACITY],
  ];
  for (const [vendor, model, expected] of table) {
    it(`${vendor} ${model} has ${expected}`, () => assert.equal(keyCapacity(vendor, model), expected));
  }
});
