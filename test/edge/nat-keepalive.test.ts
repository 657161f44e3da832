import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MISSES, NatKeepalivePlan } from '../../src/edge/nat-keepalive.ts';
import { RegistrationTable } from '../../src/edge/registrations.ts';
import { flowKey } from '../../src/sip/request-context.ts';

const A = 'udp|192.0.2.10|5060';
const B = 'udp|198.51.100.7|40001';

test('a new flow is pinged one interval after it registered, then every interval; never twice at once', () => {
  const plan = new NatKeepalivePlan(25_000);
  const flows = [{ flow: A, expiresAt: 3_600_000 }];
  const steps: Array<[number, string[], (() => void)?]> = [
    [0, []],
    [24_999, []],
    [25_000, [A]],
    [50_000, [], () => undefined], // the first ping is still out: skipped
    [50_500, [], () => plan.answered(A)],
    [51_000, [A]], // due since 50 000, sent once the answer came
    [60_000, []],
    [76_000, [], () => plan.answered(A)],
    [76_000, [A]],
  ];
  for (const [now, expected, after] of steps) {
    assert.deepEqual(plan.due(flows, now), expected, `at ${now} ms`);
    after?.();
  }
});

test(`a flow unanswered ${MAX_MISSES} times running is forgotten until it registers again; an answer resets the count`, () => {
  const plan = new NatKeepalivePlan(1_000);
  let flows = [{ flow: A, expiresAt: 100_000 }, { flow: B, expiresAt: 100_000 }];
  let now = 0;
  const round = (): string[] => plan.due(flows, (now += 1_000));
  round();
  assert.deepEqual(round(), [A, B]);
  assert.equal(plan.unanswered(A), 'missed');
  plan.answered(B);
  assert.deepEqual(round(), [A, B]);
  assert.equal(plan.unanswered(A), 'missed');
  plan.answered(B);
  assert.deepEqual(round(), [A, B]);
  plan.answered(A); // the answer resets the count
  plan.unanswered(B);
  for (let i = 1; i < MAX_MISSES; i++) {
    assert.deepEqual(round(), [A, B]);
    plan.answered(A);
    assert.equal(plan.unanswered(B), i + 1 < MAX_MISSES ? 'missed' : 'forgotten');
  }
  assert.deepEqual(round(), [A], 'B is no longer pinged');
  plan.answered(A);
  assert.equal(plan.activeCount, 1);
  flows = [{ flow: A, expiresAt: 100_000 }, { flow: B, expiresAt: 160_000 }]; // B registered again
  assert.deepEqual(round(), [A], 'a revived flow waits one interval, as a new one');
  plan.answered(A);
  assert.deepEqual(round(), [A, B]);
  flows = [];
  round();
  assert.equal(plan.activeCount, 0, 'flows no longer registered are dropped');
});

test('RegistrationTable.udpFlows lists UDP flows with a current binding, where they go and their latest expiry', () => {
  const table = new RegistrationTable();
  const udp = flowKey({ transport: 'udp', address: '192.0.2.10', port: 5060 });
  const tcp = flowKey({ transport: 'tcp', address: '192.0.2.11', port: 5060 }, 1);
  const source = { transport: 'udp' as const, address: '192.0.2.10', port: 5060 };
  table.record({ device: 'desk-1', identity: 'idle-1', contact: 'sip:idle-1@192.0.2.10', source, expiresAt: 10_000 }, udp);
  table.record({ device: 'desk-1', identity: '101', contact: 'sip:101@192.0.2.10', source, expiresAt: 20_000 }, udp);
  table.record({ device: 'desk-2', identity: 'idle-2', contact: 'sip:idle-2@192.0.2.11', source: { ...source, transport: 'tcp' }, expiresAt: 20_000 }, tcp);
  const v6Source = { transport: 'udp' as const, address: '2001:db8::9', port: 5062 };
  table.record({ device: 'desk-3', identity: 'idle-3', contact: 'sip:idle-3@[2001:db8::9]:5062', source: v6Source, expiresAt: 15_000 }, flowKey(v6Source));
  // Where each goes comes typed from the REGISTER's source, not read back out of the key's text.
  assert.deepEqual(table.udpFlows(5_000), [
    { flow: udp, peer: { address: '192.0.2.10', port: 5060 }, expiresAt: 20_000 },
    { flow: flowKey(v6Source), peer: { address: '2001:db8::9', port: 5062 }, expiresAt: 15_000 },
  ]);
  assert.deepEqual(table.udpFlows(20_000), []);
});
