import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingFromResponse, FLOWS_PER_DEVICE, RegistrationTable } from '../../src/edge/registrations.ts';
import type { SipResponse } from '../../src/sip/message.ts';

function ok(contacts: string[], expires?: string): SipResponse {
  return {
    kind: 'response', version: 'SIP/2.0', status: 200, reason: 'OK', body: Buffer.alloc(0),
    headers: [
      { name: 'to', value: '<sip:HD0001@example.com>;tag=x' },
      ...contacts.map((value) => ({ name: 'contact', value })),
      ...(expires ? [{ name: 'expires', value: expires }] : []),
    ],
  } as SipResponse;
}

const source = { transport: 'udp' as const, address: '127.0.0.1', port: 5070 };

test('bindingFromResponse keeps the binding the phone itself registered', () => {
  const cases: Array<{ name: string; contacts: string[]; sent?: string; expires?: string; want: string | undefined }> = [
    { name: 'one contact', contacts: ['<sip:HD0001@127.0.0.1:5070>;expires=300'], want: 'sip:HD0001@127.0.0.1:5070' },
    { name: 'the registrar lists an older binding first', contacts: ['<sip:HD0001@127.0.0.1:5060>;expires=20', '<sip:HD0001@127.0.0.1:5070>;expires=300'], sent: '<sip:HD0001@127.0.0.1:5070>', want: 'sip:HD0001@127.0.0.1:5070' },
    { name: 'expiry from the Expires header', contacts: ['<sip:HD0001@127.0.0.1:5070>'], expires: '60', want: 'sip:HD0001@127.0.0.1:5070' },
    { name: 'a removal (expires=0) leaves no binding', contacts: ['<sip:HD0001@127.0.0.1:5070>;expires=0'], want: undefined },
    { name: 'the phone removed its binding and others remain', contacts: ['<sip:HD0001@127.0.0.1:5060>;expires=20'], sent: '<sip:HD0001@127.0.0.1:5070>;expires=0', want: undefined },
    { name: 'no contact at all', contacts: [], want: undefined },
  ];
  for (const c of cases) {
    const got = bindingFromResponse(ok(c.contacts, c.expires), source, 0, c.sent);
    assert.equal(got?.contact, c.want, c.name);
    if (got) assert.equal(got.identity, 'HD0001', c.name);
  }
});

test('the registration table reports changes worth writing and forgets expired bindings', () => {
  const table = new RegistrationTable();
  const reg = { device: 'desk-1', identity: 'HD0001', contact: 'sip:HD0001@127.0.0.1:5070', source, expiresAt: 10_000 };
  assert.equal(table.record(reg), true);
  assert.equal(table.record({ ...reg, expiresAt: 20_000 }), false, 'a refresh is not a change');
  assert.equal(table.record({ ...reg, identity: '101', expiresAt: 20_000 }), true, 'the phone registering as its occupant is');
  assert.equal(table.get('desk-1', 19_999)?.identity, '101');
  assert.equal(table.get('desk-1', 20_000), undefined);
});

test('a registered flow proves its desk until its bindings expire or are removed, bounded per desk', () => {
  const table = new RegistrationTable();
  const reg = (device: string, identity: string, expiresAt: number) => ({ device, identity, contact: `sip:${identity}@10.0.0.5:5060`, source, expiresAt });
  table.record(reg('desk-1', 'HD0001', 10_000), 'udp|10.0.0.5|5060');
  assert.deepEqual(table.flow('udp|10.0.0.5|5060', 0), { device: 'desk-1', identities: ['HD0001'] });
  assert.equal(table.flow('udp|10.0.0.5|5061', 0), undefined, 'another port is another flow');
  assert.equal(table.flow('tcp|10.0.0.5|5060|7', 0), undefined, 'another transport is another flow');

  table.record(reg('desk-1', '101', 20_000), 'udp|10.0.0.5|5060');
  assert.deepEqual(table.flow('udp|10.0.0.5|5060', 15_000), { device: 'desk-1', identities: ['101'] }, 'the idle binding expired, the occupant\'s holds');
  table.removeFlowIdentity('udp|10.0.0.5|5060', '101');
  assert.equal(table.flow('udp|10.0.0.5|5060', 15_000), undefined, 'unregistered: the flow proves nothing');

  table.record(reg('desk-2', 'HD0002', 10_000), 'udp|192.0.2.1|5060');
  table.record(reg('desk-1', 'HD0001', 10_000), 'udp|192.0.2.1|5060');
  assert.deepEqual(table.flow('udp|192.0.2.1|5060', 0)?.device, 'desk-1', 'a NAT mapping reused by another desk proves the newer one only');

  for (let port = 1; port <= FLOWS_PER_DEVICE + 3; port++) table.record(reg('desk-3', 'HD0003', 10_000), `udp|10.0.0.9|${port}`);
  assert.equal(table.flow('udp|10.0.0.9|1', 0), undefined, 'the oldest flows of a desk make way');
  assert.equal(table.flow(`udp|10.0.0.9|${FLOWS_PER_DEVICE + 3}`, 0)?.device, 'desk-3');
  assert.equal(table.flowCount, 1 + FLOWS_PER_DEVICE, 'desk-1 and desk-3 only');
});
