import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pbxFacingHostChooser } from '../../src/edge/edge-faces.ts';
import { HostAddresses } from '../../src/edge/pbx-addresses.ts';
import { eventually } from '../support/eventually.ts';

const udp = (address: string) => ({ transport: 'udp' as const, address, port: 5060 });

test('without a PBX-facing host every destination sees the advertised host', () => {
  assert.equal(pbxFacingHostChooser(undefined, () => '10.0.0.5', new HostAddresses()), undefined);
  assert.equal(pbxFacingHostChooser('', () => '10.0.0.5', new HostAddresses()), undefined);
});

test('the PBX (by IP, by its name, by an address its name resolves to) sees the PBX-facing host; phones do not', async () => {
  const addresses = new HostAddresses({ resolve: async () => ['10.0.0.7', '2001:db8::7'] });
  let pbxHost: string | undefined = '10.0.0.5';
  const choose = pbxFacingHostChooser('10.244.0.9', () => pbxHost, addresses)!;
  const cases: Array<[string | undefined, string, string | undefined]> = [
    ['10.0.0.5', '10.0.0.5', '10.244.0.9'],
    ['10.0.0.5', '::ffff:10.0.0.5', '10.244.0.9'],
    ['10.0.0.5', '192.0.2.10', undefined],
    ['pbx.tenant.svc', 'pbx.tenant.svc', '10.244.0.9'],
    [undefined, '10.0.0.5', undefined],
  ];
  for (const [host, destination, expected] of cases) {
    pbxHost = host;
    assert.equal(choose(udp(destination)), expected, `pbx.host ${host}, sending to ${destination}`);
  }
  pbxHost = 'pbx.tenant.svc';
  // Its resolved addresses count once the resolver answered (the check never waits on DNS).
  await eventually('the PBX name resolved', () => choose(udp('10.0.0.7')) === '10.244.0.9', 5_000, 10);
  assert.equal(choose(udp('2001:db8::7')), '10.244.0.9');
  assert.equal(choose(udp('10.0.0.8')), undefined);
});
