// The pure parts of reaching a phone through the edge: the REGISTER rewriting (contact and path
// modes) and its undoing in the 2xx, where a request from the PBX carries its flow token, the desk
// policy for whom a request may ring, and which REGISTERs remove bindings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideDeskDelivery } from '../../src/edge/desk-delivery-policy.ts';
import { findFlowToken, isDeliverableToken } from '../../src/edge/flow-delivery.ts';
import { FlowTokens, type FlowAddress } from '../../src/edge/flow-token.ts';
import { flowKeyOf, inDialogTowardsPhone } from '../../src/edge/phone-flows.ts';
import { registerChanges, restoreContacts } from '../../src/edge/register-rewrite.ts';
import { isRemoval } from '../../src/edge/registrations.ts';
import { createRequest, getHeaders, type SipResponse } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import type { SipUri } from '../../src/sip/uri.ts';

const EDGE_URI = 'sip:TOKEN123abc@10.0.0.5:5060;transport=tcp';

function register(contacts: string[], extra: Array<[string, string]> = []) {
  return createRequest('REGISTER', 'sip:pbx.example.com', [
    ['via', 'SIP/2.0/UDP 192.168.1.10:5062;branch=z9hG4bK1'],
    ['to', '<sip:101@pbx.example.com>'],
    ['from', '<sip:101@pbx.example.com>;tag=a'],
    ...contacts.map((c): [string, string] => ['contact', c]),
    ...extra,
  ]);
}

test('contact mode: each Contact URI becomes the edge\'s with the token, its parameters kept', () => {
  const cases: Array<{ name: string; contacts: string[]; want: string[]; rewritten: string[] }> = [
    {
      name: 'expires, instance and reg-id stay',
      contacts: ['<sip:101@192.168.1.10:5062;transport=udp>;expires=300;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00156500a001>";reg-id=1'],
      want: ['<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp>;expires=300;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00156500a001>";reg-id=1'],
      rewritten: ['sip:101@192.168.1.10:5062;transport=udp'],
    },
    {
      name: 'a display name stays, a bare URI becomes a name-addr',
      contacts: ['"Desk 1" <sip:HD0001@192.168.1.10:5062>', 'sip:HD0001@192.168.1.10:5062;expires=60'],
      want: ['"Desk 1" <sip:TOKEN123abc@10.0.0.5:5060;transport=tcp>', '<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp>;expires=60'],
      rewritten: ['sip:HD0001@192.168.1.10:5062', 'sip:HD0001@192.168.1.10:5062'],
    },
    { name: '* (remove every binding) goes as it is', contacts: ['*'], want: ['*'], rewritten: [] },
    { name: 'an unreadable Contact goes as it is, for the registrar to refuse', contacts: ['<http://nope>'], want: ['<http://nope>'], rewritten: [] },
  ];
  for (const c of cases) {
    const changes = registerChanges(register(c.contacts), 'contact', EDGE_URI);
    assert.deepEqual(changes.remove, ['contact'], c.name);
    assert.deepEqual(changes.add.map(([, v]) => v), c.want, c.name);
    assert.deepEqual(changes.rewrites.map((r) => r.phone), c.rewritten, c.name);
  }
  assert.deepEqual(registerChanges(register([]), 'contact', EDGE_URI), { remove: [], add: [], rewrites: [] }, 'a query (no Contact) goes as it is');
});

test('path mode: a Path naming the edge with the token, and Supported: path once', () => {
  const plain = registerChanges(register(['<sip:101@192.168.1.10:5062>']), 'path', EDGE_URI);
  assert.deepEqual(plain, { remove: [], add: [['path', '<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp;lr;ob>'], ['supported', 'path']], rewrites: [] });
  const supported = registerChanges(register(['<sip:101@192.168.1.10:5062>'], [['supported', 'replaces, Path']]), 'path', EDGE_URI);
  assert.deepEqual(supported.add, [['path', '<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp;lr;ob>']]);
});

test('the 2xx gets the phone\'s own Contact back, with the registrar\'s expiry; other bindings stay', () => {
  const changes = registerChanges(register(['<sip:101@192.168.1.10:5062;line=abc>;expires=3600']), 'contact', EDGE_URI);
  const response = {
    kind: 'response', version: 'SIP/2.0', status: 200, reason: 'OK', body: Buffer.alloc(0),
    headers: [
      { name: 'to', value: '<sip:101@pbx.example.com>;tag=x' },
      { name: 'contact', value: '<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp>;expires=120;received="sip:10.0.0.5:5060"' },
      { name: 'contact', value: '<sip:101@203.0.113.9:5060>;expires=90' },
    ],
  } as SipResponse;
  restoreContacts(response, changes.rewrites);
  assert.deepEqual(getHeaders(response, 'contact'), [
    '<sip:101@192.168.1.10:5062;line=abc>;expires=120;received="sip:10.0.0.5:5060"',
    '<sip:101@203.0.113.9:5060>;expires=90',
  ]);
});

test('an older binding of the phone, through another of its flows, is listed as the phone registered it', () => {
  const changes = registerChanges(register(['<sip:101@192.168.1.10:5064>']), 'contact', EDGE_URI);
  const response = {
    kind: 'response', version: 'SIP/2.0', status: 200, reason: 'OK', body: Buffer.alloc(0),
    headers: [
      { name: 'contact', value: '<sip:OLDTOKEN99@10.0.0.5:5060;transport=tcp>;expires=40' },
      { name: 'contact', value: '<sip:TOKEN123abc@10.0.0.5:5060;transport=tcp>;expires=300' },
      { name: 'contact', value: '<sip:UNKNOWN000@10.0.0.5:5060;transport=tcp>;expires=10' },
    ],
  } as SipResponse;
  restoreContacts(response, changes.rewrites, (uri) => (uri.user === 'OLDTOKEN99' ? 'sip:101@192.168.1.10:5062' : undefined));
  assert.deepEqual(getHeaders(response, 'contact'), [
    '<sip:101@192.168.1.10:5062>;expires=40',
    '<sip:101@192.168.1.10:5064>;expires=300',
    '<sip:UNKNOWN000@10.0.0.5:5060;transport=tcp>;expires=10',
  ]);
});

test('a request from the PBX carries its token in our top Route (path) or our Request-URI (contact)', () => {
  const ours = (uri: SipUri) => uri.host === '10.0.0.5' && (uri.port ?? 5060) === 5060;
  const cases: Array<{ name: string; text: string; want: ReturnType<typeof findFlowToken> }> = [
    { name: 'path: top Route', text: 'INVITE sip:101@192.168.1.10:5062 SIP/2.0\r\nRoute: <sip:TOKENabcdef@10.0.0.5:5060;lr;ob>\r\n', want: { token: 'TOKENabcdef', place: 'route' } },
    { name: 'contact: Request-URI', text: 'INVITE sip:TOKENabcdef@10.0.0.5:5060 SIP/2.0\r\n', want: { token: 'TOKENabcdef', place: 'request-uri' } },
    { name: 'our Route without a user, token in the Request-URI', text: 'INVITE sip:TOKENabcdef@10.0.0.5 SIP/2.0\r\nRoute: <sip:10.0.0.5:5060;lr>\r\n', want: { token: 'TOKENabcdef', place: 'request-uri' } },
    { name: 'a Route to someone else first', text: 'INVITE sip:TOKENabcdef@10.0.0.5 SIP/2.0\r\nRoute: <sip:TOKENabcdef@10.9.9.9;lr>\r\n', want: undefined },
    { name: 'a Request-URI not ours', text: 'MESSAGE sip:101@pbx.example.com SIP/2.0\r\n', want: undefined },
    { name: 'ours without a user (an OPTIONS ping)', text: 'OPTIONS sip:10.0.0.5:5060 SIP/2.0\r\n', want: undefined },
  ];
  for (const c of cases) {
    const raw = `${c.text}Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 ${c.text.split(' ')[0]}\r\nContent-Length: 0\r\n\r\n`;
    const parsed = parseMessage(Buffer.from(raw), { framing: 'datagram' });
    assert.ok(parsed.ok && parsed.message.kind === 'request', c.name);
    assert.deepEqual(findFlowToken(parsed.message, ours), c.want, c.name);
  }
});

test('a desk rings only for the identity it has now', () => {
  const pool = new Set(['101', '102', 'HD0001', 'HD0002']);
  const isPoolIdentity = (identity: string) => pool.has(identity);
  const cases: Array<{ name: string; called?: string; desk?: string; flow: string[]; want: number | 'deliver' }> = [
    { name: 'alice at the desk, registered on the flow', called: '101', desk: '101', flow: ['HD0001', '101'], want: 'deliver' },
    { name: 'alice logged out: the desk is idle again', called: '101', desk: 'HD0001', flow: ['HD0001', '101'], want: 480 },
    { name: 'alice logged out and her binding expired here', called: '101', desk: 'HD0001', flow: ['HD0001'], want: 480 },
    { name: 'the idle account of an idle desk', called: 'HD0001', desk: 'HD0001', flow: ['HD0001'], want: 'deliver' },
    { name: 'the idle account while alice sits there', called: 'HD0001', desk: '101', flow: ['HD0001', '101'], want: 480 },
    { name: 'bob, who sits elsewhere', called: '102', desk: '101', flow: ['101'], want: 480 },
    { name: 'alice logged in, the phone not re-registered yet', called: '101', desk: '101', flow: ['HD0001'], want: 480 },
    { name: 'a call forwarded from outside the pool to the desk\'s binding', called: '+4420794600', desk: '101', flow: ['101'], want: 'deliver' },
    { name: 'nobody in To', desk: '101', flow: ['101'], want: 480 },
    { name: 'the flow registered nothing (expired)', called: '101', desk: '101', flow: [], want: 480 },
    { name: 'the desk left the pool', called: '101', flow: ['101'], want: 404 },
  ];
  for (const c of cases) {
    const got = decideDeskDelivery({ calledIdentity: c.called, deskIdentity: c.desk, flowIdentities: c.flow, isPoolIdentity });
    assert.equal(got.deliver ? 'deliver' : got.status, c.want, c.name);
    if (got.deliver) assert.equal(got.identity, c.desk, c.name);
  }
});

test('which REGISTERs remove bindings', () => {
  const cases: Array<{ name: string; contacts: string[]; expires?: string; want: boolean }> = [
    { name: 'Contact: *', contacts: ['*'], expires: '0', want: true },
    { name: 'Expires: 0 for a contact without its own', contacts: ['<sip:101@192.168.1.10>'], expires: '0', want: true },
    { name: 'every contact expires=0', contacts: ['<sip:101@192.168.1.10>;expires=0', '<sip:101@192.168.1.11>;expires=0'], expires: '3600', want: true },
    { name: 'one contact of two stays', contacts: ['<sip:101@192.168.1.10>;expires=0', '<sip:101@192.168.1.11>;expires=60'], want: false },
    { name: 'a contact\'s own expiry wins over Expires: 0', contacts: ['<sip:101@192.168.1.10>;expires=60'], expires: '0', want: false },
    { name: 'a refresh', contacts: ['<sip:101@192.168.1.10>'], expires: '300', want: false },
    { name: 'no expiry at all: the registrar\'s default', contacts: ['<sip:101@192.168.1.10>'], want: false },
    { name: 'a query (no Contact)', contacts: [], expires: '0', want: false },
  ];
  for (const c of cases) assert.equal(isRemoval(register(c.contacts, c.expires === undefined ? [] : [['expires', c.expires]])), c.want, c.name);
});

test('an in-dialog request goes to the phone\'s flow only from the PBX and not on that flow', () => {
  const tokens = new FlowTokens(Buffer.alloc(32, 7));
  const flow: FlowAddress = { replica: '10.1.0.4:5060', transport: 'tcp', address: '203.0.113.9', port: 40312, connection: 12 };
  const decoded = tokens.decode(tokens.encode(flow))!;
  assert.equal(flowKeyOf(decoded), 'tcp|203.0.113.9|40312|12');
  assert.equal(inDialogTowardsPhone(true, 'udp|10.46.0.2|5060', decoded), true, 'the PBX\'s BYE');
  assert.equal(inDialogTowardsPhone(true, 'tcp|203.0.113.9|40312|12', decoded), false, 'the phone itself, on its flow (PBX on the same host)');
  assert.equal(inDialogTowardsPhone(false, 'udp|198.51.100.7|5060', decoded), false, 'anyone else');
});

test('from the PBX\'s host on another port, only a genuine token is delivered: a dialled number at the edge\'s URI is a phone\'s call', () => {
  const here = new FlowTokens(Buffer.alloc(32, 1));
  const peer = new FlowTokens(Buffer.alloc(32, 2));
  const flow = (replica: string): FlowAddress => ({ replica, transport: 'udp', address: '203.0.113.7', port: 40312 });
  const ready = new Set(['10.244.0.13:5060']);
  const own = here.encode(flow('10.244.0.12:5060'));
  const cases: Array<[string, string, boolean]> = [
    ['a token this replica wrote', own, true],
    ['a token a ready peer wrote', peer.encode(flow('10.244.0.13:5060')), true],
    ['a token naming a replica that is gone', peer.encode(flow('10.244.0.99:5060')), false],
    ['a token naming this replica, altered', `${own.slice(0, -2)}${own.endsWith('AA') ? 'BB' : 'AA'}`, false],
    ['an emergency number', '911', false],
    ['a feature code', '*77*101*', false],
    ['an extension', '101', false],
  ];
  const seen = cases.map(([why, token]) => [why, isDeliverableToken(token, here, '10.244.0.12:5060', (r) => ready.has(r))]);
  assert.deepEqual(seen, cases.map(([why, , want]) => [why, want]));
});
