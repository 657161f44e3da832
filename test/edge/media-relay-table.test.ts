import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLAIM_TTL_MS, RELAY_IDLE_MS, RelayTable } from '../../src/edge/media-relay-table.ts';

const A = '10.0.0.11';
const B = '10.0.0.12';
const phone = { address: '203.0.113.7', port: 40000 };
const ready = (peers: string[]) => (owner: string) => peers.includes(owner);

type Step =
  | { claim: string; port: number; address: string; at: number }
  | { release: string; port: number; address: string }
  | { sweep: number };

const routeCases: Array<{ name: string; steps: Step[]; at: number; port?: number; from?: typeof phone; peers?: string[]; want: string | undefined }> = [
  { name: 'nobody claims the port: dropped', steps: [], at: 0, want: undefined },
  { name: 'the claiming peer gets the phone\'s packet', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }], at: 100, want: A },
  { name: 'a claim for another phone address does not take it', steps: [{ claim: A, port: 20000, address: '198.51.100.1', at: 0 }], at: 100, want: undefined },
  { name: 'a claim for another port does not take it', steps: [{ claim: A, port: 20002, address: phone.address, at: 0 }], at: 100, want: undefined },
  { name: 'a claim not renewed expires', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }], at: CLAIM_TTL_MS, want: undefined },
  { name: 'a renewed claim lives on', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }, { claim: A, port: 20000, address: phone.address, at: 3000 }], at: CLAIM_TTL_MS + 100, want: A },
  { name: 'an owner that is no longer a ready peer gets nothing', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }], at: 100, peers: [B], want: undefined },
  { name: 'a released claim is gone', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }, { release: A, port: 20000, address: phone.address }], at: 100, want: undefined },
  { name: 'a peer cannot release another\'s claim', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }, { release: B, port: 20000, address: phone.address }], at: 100, want: A },
  { name: 'the latest claim wins (the phone\'s SIP moved to another replica)', steps: [{ claim: A, port: 20000, address: phone.address, at: 0 }, { claim: B, port: 20000, address: phone.address, at: 10 }], at: 100, want: B },
  { name: 'an IPv4 phone seen as ::ffff: is the same phone', steps: [{ claim: A, port: 20000, address: `::ffff:${phone.address}`, at: 0 }], at: 100, want: A },
];

function play(table: RelayTable, steps: Step[]): void {
  for (const s of steps) {
    if ('claim' in s) table.claim(s.claim, s.port, s.address, s.at);
    else if ('release' in s) table.release(s.release, s.port, s.address);
    else table.sweep(s.sweep);
  }
}

for (const c of routeCases) {
  test(`media relay ownership: ${c.name}`, () => {
    const table = new RelayTable();
    play(table, c.steps);
    assert.equal(table.route(c.port ?? 20000, c.from ?? phone, c.at, ready(c.peers ?? [A, B])), c.want);
  });
}

test('media relay: a peer may have packets sent only to a phone that sent to this port for its call, lately', () => {
  const table = new RelayTable();
  table.claim(A, 20000, phone.address, 0);
  assert.equal(table.mayRelayToPhone(A, 20000, phone, 10), false, 'the phone has sent nothing here yet');
  assert.equal(table.route(20000, phone, 20, ready([A])), A);
  assert.equal(table.relays, 1);
  assert.equal(table.mayRelayToPhone(A, 20000, phone, 30), true, 'the owner answers the phone');
  assert.equal(table.mayRelayToPhone(B, 20000, phone, 30), false, 'another peer is not the owner');
  assert.equal(table.mayRelayToPhone(A, 20002, phone, 30), false, 'another port');
  assert.equal(table.mayRelayToPhone(A, 20000, { address: phone.address, port: 40002 }, 30), false, 'another port of the phone\'s address');
  assert.equal(table.mayRelayToPhone(A, 20000, { address: '198.51.100.1', port: 40000 }, 30), false, 'an address of the peer\'s choosing');
  assert.equal(table.mayRelayToPhone(A, 20000, phone, 20 + RELAY_IDLE_MS), false, 'the phone went silent');
});

test('media relay: a relay is forgotten when its call ends, when its claim expires, or after silence', () => {
  const table = new RelayTable();
  table.claim(A, 20000, phone.address, 0);
  table.route(20000, phone, 10, ready([A]));
  table.release(A, 20000, phone.address);
  assert.equal(table.relays, 0, 'released with the call');
  assert.equal(table.mayRelayToPhone(A, 20000, phone, 20), false);

  table.claim(A, 20000, phone.address, 100);
  table.route(20000, phone, 110, ready([A]));
  table.sweep(100 + CLAIM_TTL_MS);
  assert.deepEqual([table.claims, table.relays], [0, 0], 'the owner stopped renewing (gone)');

  for (let t = 0; t <= RELAY_IDLE_MS + 1000; t += 1000) table.claim(A, 20000, phone.address, 200_000 + t);
  table.route(20000, phone, 200_000, ready([A]));
  table.sweep(200_000 + RELAY_IDLE_MS);
  assert.deepEqual([table.claims, table.relays], [1, 0], 'the claim lives on, the silent phone\'s relay does not');
});

test('media relay: a port another replica holds for a phone address is held elsewhere, until its claim goes', () => {
  const table = new RelayTable();
  table.claim(A, 20000, phone.address, 0);
  assert.equal(table.heldElsewhere(20000, phone.address, 100), true);
  assert.equal(table.heldElsewhere(20000, '198.51.100.1', 100), false, 'another phone may share the port');
  assert.equal(table.heldElsewhere(20000, phone.address, CLAIM_TTL_MS), false);
});
