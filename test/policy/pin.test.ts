import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterRightPin, hashPin, isLocked, laterLock, lockoutStartedBy, reservePinAttempt, verifyPin, type LockoutState, type PinAttempt } from '../../src/policy/pin.ts';

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

const POLICY = { maxAttempts: 3, lockoutMs: 15 * 60_000 };
const NOW = new Date('2026-01-01T09:00:00Z');
const at = (iso: string) => new Date(iso);

test('reservePinAttempt: counts before the check, and the attempt that reaches the limit writes the lock with its reservation', () => {
  const cases: Array<[string, LockoutState, ReturnType<typeof reservePinAttempt>]> = [
    ['first attempt', { failedAttempts: 0 }, { kind: 'reserved', reservation: { attempt: 1, final: false }, next: { failedAttempts: 1 } }],
    ['second attempt', { failedAttempts: 1 }, { kind: 'reserved', reservation: { attempt: 2, final: false }, next: { failedAttempts: 2 } }],
    ['the last attempt locks at once', { failedAttempts: 2 },
      { kind: 'reserved', reservation: { attempt: 3, final: true, provisionalLock: at('2026-01-01T09:15:00Z') }, next: { failedAttempts: 3, lockedUntil: at('2026-01-01T09:15:00Z') } }],
    ['locked: no attempt', { failedAttempts: 3, lockedUntil: at('2026-01-01T09:10:00Z') }, { kind: 'locked', until: at('2026-01-01T09:10:00Z') }],
    ['a lock ending this instant is over', { failedAttempts: 3, lockedUntil: NOW }, { kind: 'reserved', reservation: { attempt: 1, final: false }, next: { failedAttempts: 1 } }],
    ['an expired lock starts a fresh count', { failedAttempts: 3, lockedUntil: at('2026-01-01T08:00:00Z') }, { kind: 'reserved', reservation: { attempt: 1, final: false }, next: { failedAttempts: 1 } }],
    ['a count over the limit without a lock (edited by hand) gets one last attempt', { failedAttempts: 7 },
      { kind: 'reserved', reservation: { attempt: 3, final: true, provisionalLock: at('2026-01-01T09:15:00Z') }, next: { failedAttempts: 3, lockedUntil: at('2026-01-01T09:15:00Z') } }],
    ['a negative count is read as none', { failedAttempts: -4 }, { kind: 'reserved', reservation: { attempt: 1, final: false }, next: { failedAttempts: 1 } }],
  ];
  for (const [name, state, want] of cases) assert.deepEqual(reservePinAttempt(state, NOW, POLICY), want, name);
  assert.deepEqual(reservePinAttempt({ failedAttempts: 0 }, NOW, { maxAttempts: 1, lockoutMs: 60_000 }),
    { kind: 'reserved', reservation: { attempt: 1, final: true, provisionalLock: at('2026-01-01T09:01:00Z') }, next: { failedAttempts: 1, lockedUntil: at('2026-01-01T09:01:00Z') } }, 'maxAttempts 1: the only attempt is the last');
});

test('reservations applied one after another, from any number of calls, never give more than maxAttempts checks per window', () => {
  let state: LockoutState = { failedAttempts: 0 };
  let reserved = 0;
  for (let call = 0; call < 20; call++) {
    const r = reservePinAttempt(state, NOW, POLICY);
    if (r.kind === 'locked') continue;
    reserved++;
    state = r.next;
  }
  assert.equal(reserved, 3);
  assert.equal(isLocked(state, new Date('2026-01-01T09:14:59Z')), true);
  assert.equal(isLocked(state, new Date('2026-01-01T09:15:00Z')), false);
});

test('afterRightPin: resets the count and lifts only its own provisional lock', () => {
  const ordinary: PinAttempt = { attempt: 2, final: false };
  const last: PinAttempt = { attempt: 3, final: true, provisionalLock: at('2026-01-01T09:15:00Z') };
  const cases: Array<[string, LockoutState, PinAttempt, ReturnType<typeof afterRightPin>]> = [
    ['count to reset', { failedAttempts: 2 }, ordinary, { kind: 'reset', next: { failedAttempts: 0 } }],
    ['nothing to write', { failedAttempts: 0 }, ordinary, { kind: 'clean' }],
    ['its own lock is lifted', { failedAttempts: 3, lockedUntil: at('2026-01-01T09:15:00Z') }, last, { kind: 'reset', next: { failedAttempts: 0 } }],
    ['a newer lock from another call stays', { failedAttempts: 3, lockedUntil: at('2026-01-01T09:14:00Z') }, ordinary, { kind: 'locked', until: at('2026-01-01T09:14:00Z') }],
    ['a lock that is not its own stays, even on a final attempt', { failedAttempts: 3, lockedUntil: at('2026-01-01T09:16:00Z') }, last, { kind: 'locked', until: at('2026-01-01T09:16:00Z') }],
    ['an expired lock is cleared with the count', { failedAttempts: 1, lockedUntil: at('2026-01-01T08:00:00Z') }, ordinary, { kind: 'reset', next: { failedAttempts: 0 } }],
  ];
  for (const [name, state, reservation, want] of cases) assert.deepEqual(afterRightPin(state, reservation, NOW), want, name);
});

test('a lockout starts only with a wrong PIN on the final attempt; a desk lock only moves later', () => {
  assert.equal(lockoutStartedBy({ attempt: 1, final: false }), undefined);
  assert.deepEqual(lockoutStartedBy({ attempt: 3, final: true, provisionalLock: at('2026-01-01T09:15:00Z') }), at('2026-01-01T09:15:00Z'));
  const until = at('2026-01-01T09:15:00Z');
  assert.deepEqual(laterLock(undefined, until), until);
  assert.deepEqual(laterLock(at('2026-01-01T09:10:00Z'), until), until);
  assert.equal(laterLock(until, until), undefined);
  assert.equal(laterLock(at('2026-01-01T09:20:00Z'), until), undefined, 'a longer lock is never shortened');
});
