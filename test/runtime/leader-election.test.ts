import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayAcquire, microTime, nextLeaseSpec } from '../../src/runtime/leader-election.ts';

test('mayAcquire: free, own or expired (by our own observation) leases can be taken', () => {
  const held = { holderIdentity: 'other', leaseDurationSeconds: 15 };
  const table: Array<[string, Parameters<typeof mayAcquire>[0], number, number, boolean]> = [
    ['no lease record', undefined, 0, 0, true],
    ['released (empty holder)', { holderIdentity: '', leaseDurationSeconds: 1 }, 1000, 1000, true],
    ['held by us', { holderIdentity: 'me', leaseDurationSeconds: 15 }, 1000, 1000, true],
    ['held by another, just observed', held, 1000, 1000, false],
    ['held by another, 14.9 s since it last changed', held, 1000, 15_900, false],
    ['held by another, 15 s since it last changed', held, 1000, 16_000, true],
  ];
  for (const [name, spec, observedAt, now, want] of table) assert.equal(mayAcquire(spec, 'me', observedAt, now), want, name);
});

test('nextLeaseSpec keeps acquireTime on renew and counts transitions on takeover', () => {
  const t1 = Date.UTC(2025, 0, 1, 0, 0, 0, 250);
  const first = nextLeaseSpec(undefined, 'a', 15_000, t1);
  assert.deepEqual(first, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2025-01-01T00:00:00.250000Z', renewTime: '2025-01-01T00:00:00.250000Z', leaseTransitions: 0 });
  const renewed = nextLeaseSpec(first, 'a', 15_000, t1 + 2000);
  assert.equal(renewed.acquireTime, first.acquireTime);
  assert.equal(renewed.renewTime, microTime(t1 + 2000));
  assert.equal(renewed.leaseTransitions, 0);
  const taken = nextLeaseSpec(renewed, 'b', 2_500, t1 + 20_000);
  assert.equal(taken.holderIdentity, 'b');
  assert.equal(taken.leaseDurationSeconds, 3, 'whole seconds, rounded up');
  assert.equal(taken.acquireTime, microTime(t1 + 20_000));
  assert.equal(taken.leaseTransitions, 1);
});
