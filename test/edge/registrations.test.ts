import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingFromResponse, RegistrationTable } from '../../src/edge/registrations.ts';
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
