import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPin, isLocked, recordPinFailure, verifyPin } from '../../src/policy/pin.ts';

test('verifyPin accepts the right PIN, plain or hashed, and nothing else', () => {
  const hash = hashPin('4821');
  const cases: Array<[string, { pin?: string; pinHash?: string }, boolean]> = [
    ['4821', { pin: '4821' }, true],
    ['4822', { pin: '4821' }, false],
    ['48210', { pin: '4821' }, false],
    ['', { pin: '4821' }, false],
    ['4821', { pinHash: hash }, true],
    ['1111', { pinHash: hash }, false],
    ['4821', { pinHash: 'md5$abc' }, false],
    ['4821', {}, false],
  ];
  for (const [entered, cred, want] of cases) assert.equal(verifyPin(entered, cred), want, `${entered} vs ${JSON.stringify(Object.keys(cred))}`);
  assert.doesNotMatch(hash, /4821/, 'the hash does not contain the PIN');
});

test('the attempt that reaches the limit locks out for the lockout time', () => {
  const policy = { maxAttempts: 3, lockoutMs: 15 * 60_000 };
  const now = new Date('2026-01-01T09:00:00Z');
  let state = { failedAttempts: 0 } as ReturnType<typeof recordPinFailure> | { failedAttempts: number; lockedUntil?: Date };
  const seen: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const next = recordPinFailure(state, now, policy);
    seen.push(next.lockedOut);
    state = next;
  }
  assert.deepEqual(seen, [false, false, true]);
  assert.equal(state.lockedUntil?.toISOString(), '2026-01-01T09:15:00.000Z');
  assert.equal(isLocked(state, new Date('2026-01-01T09:14:59Z')), true);
  assert.equal(isLocked(state, new Date('2026-01-01T09:15:00Z')), false);
  const afterLockout = recordPinFailure(state, new Date('2026-01-01T09:20:00Z'), policy);
  assert.deepEqual([afterLockout.failedAttempts, afterLockout.lockedOut], [1, false], 'an expired lockout starts a fresh count');
});
