import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTokens, type FlowAddress } from '../../src/edge/flow-token.ts';
import { deliverToFlow } from '../../src/edge/flow-delivery.ts';
import { inDialogReplicaHop, replicaHop } from '../../src/edge/replica-forwarding.ts';
import type { IncomingRequest, ServerResponse } from '../../src/sip/request-context.ts';

const A = '10.244.0.11:5060';
const B = '10.244.0.12:5060';
const GONE = '10.244.0.13:5060';
const peers = { has: (replica: string) => replica === A || replica === B };

// Each replica has its own key: B cannot decode A's tokens, only read which replica they name.
const tokensOfA = new FlowTokens(Buffer.alloc(32, 1));
const tokensOfB = new FlowTokens(Buffer.alloc(32, 2));
const flow = (replica: string): FlowAddress => ({ replica, transport: 'udp', address: '203.0.113.7', port: 40312 });

test('replica hop: to a ready peer at its pod address, with our own pod address for Via', () => {
  assert.deepEqual(replicaHop(A, peers, 'udp', '10.244.0.12'), { to: { replica: { transport: 'udp', address: '10.244.0.11', port: 5060 }, viaHost: '10.244.0.12' } });
  // TLS ends at the edge: between replicas it is TCP.
  assert.deepEqual(replicaHop(A, peers, 'tls', '10.244.0.12'), { to: { replica: { transport: 'tcp', address: '10.244.0.11', port: 5060 }, viaHost: '10.244.0.12' } });
});

test('replica hop: a replica that is no ready peer (gone, or only claimed by a token) gets 430 Flow Failed', () => {
  for (const replica of [GONE, '192.0.2.1:5060', 'not-an-address']) {
    assert.deepEqual(replicaHop(replica, peers, 'udp', '10.244.0.12'), { status: 430, reason: 'Flow Failed' }, replica);
  }
});

const inDialog: Array<{ name: string; users: string[]; want: 'none' | 'to-A' | '430' }> = [
  { name: 'a token of A reaching B goes to A', users: [tokensOfA.encode(flow(A))], want: 'to-A' },
  { name: 'both Record-Route entries (double record-routing) carry the same token', users: [tokensOfA.encode(flow(A)), tokensOfA.encode(flow(A))], want: 'to-A' },
  { name: 'B\'s own token stays with B', users: [tokensOfB.encode(flow(B))], want: 'none' },
  { name: 'a token of a replica that is gone gets 430', users: [tokensOfA.encode(flow(GONE))], want: '430' },
  { name: 'user parts that are no tokens at all are routed as before', users: ['alice', ''], want: 'none' },
];

for (const c of inDialog) {
  test(`in-dialog replica hop at B: ${c.name}`, () => {
    const hop = inDialogReplicaHop(c.users, tokensOfB, B, peers, 'udp', '10.244.0.12');
    const got = hop === undefined ? 'none' : 'to' in hop ? (hop.to.replica.address === '10.244.0.11' ? 'to-A' : 'elsewhere') : String(hop.status);
    assert.equal(got, c.want);
  });
}

const delivery: Array<{ name: string; token: string; fromReplica: boolean; want: string }> = [
  { name: 'a token of another replica from the PBX is passed to it (named unverified)', token: tokensOfA.encode(flow(A)), fromReplica: false, want: `forward ${A}` },
  { name: 'a token of another replica from a replica is not passed on again (one hop at most)', token: tokensOfA.encode(flow(A)), fromReplica: true, want: 'answer 430' },
  { name: 'its own token is verified and delivered here', token: tokensOfB.encode(flow(B)), fromReplica: true, want: 'deliver 203.0.113.7' },
  { name: 'a token naming this replica made with another key (forged, or before a restart) is refused', token: tokensOfA.encode(flow(B)), fromReplica: false, want: 'answer 404' },
  { name: 'garbage is refused', token: 'not-a-token!', fromReplica: false, want: 'answer 404' },
];

for (const c of delivery) {
  test(`flow delivery at B: ${c.name}`, async () => {
    let got = '';
    const res = { send: (status: number) => void (got = `answer ${status}`) } as unknown as ServerResponse;
    await deliverToFlow({} as IncomingRequest, res, { token: c.token, place: 'request-uri' }, {
      tokens: tokensOfB,
      replica: B,
      fromReplica: c.fromReplica,
      forwardToReplica: async (_req, _res, replica) => void (got = `forward ${replica}`),
      deliverHere: async (_req, _res, decoded) => void (got = `deliver ${decoded.address}`),
    });
    assert.equal(got, c.want);
  });
}
