import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTokens, type FlowAddress } from '../../src/edge/flow-token.ts';

const key = Buffer.alloc(32, 7);
const tokens = new FlowTokens(key);

const flows: Array<{ name: string; flow: FlowAddress }> = [
  { name: 'UDP through a NAT', flow: { replica: '10.244.0.12:5060', transport: 'udp', address: '203.0.113.7', port: 40312 } },
  { name: 'a TCP connection', flow: { replica: '10.244.0.13:5060', transport: 'tcp', address: '198.51.100.4', port: 51000, connection: 17 } },
  { name: 'IPv6 over TLS', flow: { replica: '[fd00::12]:5061', transport: 'tls', address: '2001:db8::5', port: 5061, connection: 1 } },
];

for (const { name, flow } of flows) {
  test(`flow token: ${name} round-trips and fits a SIP URI user part`, () => {
    const token = tokens.encode(flow);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(tokens.decode(token), flow);
  });
}

const good = tokens.encode(flows[0]!.flow);
const forged: Array<{ name: string; token: string }> = [
  { name: 'another key', token: new FlowTokens(Buffer.alloc(32, 8)).encode(flows[0]!.flow) },
  { name: 'one character changed', token: (good[0] === 'A' ? 'B' : 'A') + good.slice(1) },
  { name: 'truncated', token: good.slice(0, -2) },
  { name: 'payload without its MAC', token: Buffer.from('udp|203.0.113.7|40312||10.244.0.12:5060').toString('base64url') },
  { name: 'characters a URI would escape', token: `${good}%40` },
  { name: 'empty', token: '' },
];

for (const { name, token } of forged) {
  test(`flow token: refused when ${name}`, () => {
    assert.equal(tokens.decode(token), undefined);
  });
}

test('flow token: a short key is refused at construction', () => {
  assert.throws(() => new FlowTokens(Buffer.alloc(8)), /16 bytes/);
});

test('flow token: another replica, holding another key, reads which replica a token names but cannot decode it', () => {
  const other = new FlowTokens(Buffer.alloc(32, 9));
  for (const { flow } of flows) {
    const token = tokens.encode(flow);
    assert.equal(other.decode(token), undefined);
    assert.equal(other.replicaOf(token), flow.replica);
  }
});

test('flow token: replicaOf gives nothing for what is not shaped like a token', () => {
  for (const token of ['', 'short', `${good}%40`, Buffer.from('udp|203.0.113.7|40312').toString('base64url') + 'AAAAAAAAAAAAAAAA']) {
    assert.equal(tokens.replicaOf(token), undefined, token);
  }
});
