import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeaders, type SipRequest } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { assertedIdentity, requestUriInDomain, stripPhoneClaims } from '../../src/sip/sanitise.ts';

function request(extra: string[]): SipRequest {
  const text = [
    'INVITE sip:200@edge.example:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport',
    'From: <sip:101@example.com>;tag=a',
    'To: <sip:200@example.com>',
    'Call-ID: c1',
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const parsed = parseMessage(Buffer.from(text), { framing: 'datagram' });
  assert.ok(parsed.ok && parsed.message.kind === 'request');
  return parsed.message as SipRequest;
}

test('identity claims, the pool\'s header and foreign Routes are removed from what a phone sends', () => {
  const spoofed = [
    'P-Asserted-Identity: <sip:911@example.com>',
    'P-Asserted-Identity: <tel:+15551234>',
    'p-preferred-identity: <sip:ceo@example.com>',
    'Remote-Party-ID: <sip:ceo@example.com>;party=calling',
    'P-Emergency-Info: Somewhere else',
    'Route: <sip:evil.example;lr>, <sip:pbx.example;lr>',
    'X-Custom: kept',
  ];
  const cases: Array<{ name: string; inDialog: boolean; removed: string[]; routes: number }> = [
    { name: 'out of a dialog', inDialog: false, removed: ['p-asserted-identity', 'p-preferred-identity', 'remote-party-id', 'p-emergency-info', 'route'], routes: 0 },
    { name: 'in a dialog the route set stays', inDialog: true, removed: ['p-asserted-identity', 'p-preferred-identity', 'remote-party-id', 'p-emergency-info'], routes: 2 },
  ];
  for (const c of cases) {
    const req = request(spoofed);
    const removed = stripPhoneClaims(req, { poolHeaders: ['P-Emergency-Info'], inDialog: c.inDialog });
    assert.deepEqual(removed.sort(), [...c.removed].sort(), c.name);
    for (const name of ['p-asserted-identity', 'p-preferred-identity', 'remote-party-id', 'p-emergency-info']) assert.deepEqual(getHeaders(req, name), [], `${c.name}: ${name}`);
    assert.equal(getHeaders(req, 'route').length, c.routes, c.name);
    assert.deepEqual(getHeaders(req, 'x-custom'), ['kept'], c.name);
    assert.equal(getHeaders(req, 'from')[0], '<sip:101@example.com>;tag=a', c.name);
  }
  assert.deepEqual(stripPhoneClaims(request([]), { poolHeaders: ['P-Emergency-Info'], inDialog: false }), [], 'a clean request is left as it is');
});

test('the Request-URI host becomes the pool\'s domain; other URIs are left alone', () => {
  const cases: Array<[string, string]> = [
    ['sip:200@edge.example:5060', 'sip:200@example.3cx.eu'],
    ['sip:%2A77%2A101%2A@10.0.0.1', 'sip:*77*101*@example.3cx.eu'],
    ['sip:200@10.0.0.1;user=phone;maddr=10.9.9.9', 'sip:200@example.3cx.eu;user=phone'],
    ['sip:10.0.0.1:5060', 'sip:example.3cx.eu'],
    ['tel:+441234', 'tel:+441234'],
  ];
  for (const [uri, want] of cases) assert.equal(requestUriInDomain(uri, 'example.3cx.eu'), want, uri);
});

test('the asserted identity names the proven account in the pool\'s domain', () => {
  assert.equal(assertedIdentity('101', 'example.com', 'Alice "A" Archer'), '"Alice A Archer" <sip:101@example.com>');
  assert.equal(assertedIdentity('HD0001', 'example.com'), '<sip:HD0001@example.com>');
});
