import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ELECTION_TIMINGS, electionTimings, mayAcquire, microTime, nextLeaseSpec } from '../../src/runtime/leader-election.ts';

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

test('electionTimings: client-go defaults for what is not given, including an explicit undefined', () => {
  const table: Array<[string, Parameters<typeof electionTimings>[0], ReturnType<typeof electionTimings>]> = [
    ['nothing given', {}, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }],
    ['unset environment passed through as undefined', { leaseDurationMs: undefined, renewDeadlineMs: undefined, retryPeriodMs: undefined }, { ...DEFAULT_ELECTION_TIMINGS }],
    ['only the duration', { leaseDurationMs: 30_000 }, { leaseDurationMs: 30_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }],
    ['all three', { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 }, { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 }],
  ];
  for (const [name, given, want] of table) assert.deepEqual(electionTimings(given), want, name);
});

test('electionTimings refuses timings that cannot elect safely, naming the value', () => {
  const table: Array<[string, Parameters<typeof electionTimings>[0], RegExp]> = [
    ['not a number (HOTDESK_LEASE_DURATION_MS=abc)', { leaseDurationMs: Number('abc') }, /leaseDurationMs must be a positive number of milliseconds, got NaN/],
    ['zero', { retryPeriodMs: 0 }, /retryPeriodMs must be a positive/],
    ['negative', { renewDeadlineMs: -1 }, /renewDeadlineMs must be a positive/],
    ['renew deadline not shorter than the lease', { leaseDurationMs: 10_000 }, /renewDeadlineMs \(10000\) must be shorter than leaseDurationMs \(10000\)/],
    ['retry not shorter than the renew deadline', { retryPeriodMs: 10_000 }, /retryPeriodMs \(10000\) must be shorter than renewDeadlineMs/],
  ];
  for (const [name, given, want] of table) assert.throws(() => electionTimings(given), want, name);
});
