import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * PIN hashes are stored as "scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>" so admins can keep only a
 * hash in the user's Secret; a plain PIN is accepted too, as 3CX's voicemail PIN is.
 */
const SCRYPT_PREFIX = 'scrypt$';

export function hashPin(pin: string, salt: Buffer = randomBytes(16), n = 16384, r = 8, p = 1): string {
  const hash = scryptSync(pin, salt, 32, { N: n, r, p });
  return `${SCRYPT_PREFIX}${n}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function isValidPinHash(stored: string): boolean {
  const parts = stored.split('$');
  return parts.length === 6 && parts[0] === 'scrypt' && parts.slice(1, 4).every((x) => /^\d+$/.test(x)) && parts[4] !== '' && parts[5] !== '';
}

export interface PinCredential {
  pin?: string | undefined;
  pinHash?: string | undefined;
}

/** Constant-time comparison, so response timing says nothing about how close a guess was. */
export function verifyPin(entered: string, credential: PinCredential): boolean {
  if (credential.pinHash) {
    if (!isValidPinHash(credential.pinHash)) return false;
    const [, n, r, p, salt, hash] = credential.pinHash.split('$');
    const expected = Buffer.from(hash!, 'base64');
    const actual = scryptSync(entered, Buffer.from(salt!, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
    return timingSafeEqual(actual, expected);
  }
  if (credential.pin === undefined) return false;
  const a = Buffer.from(entered);
  const b = Buffer.from(credential.pin);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface LockoutPolicy {
  maxAttempts: number;
  lockoutMs: number;
}

/** What the API holds for one user: wrong PINs in a row, and the lock they led to. */
export interface LockoutState {
  failedAttempts: number;
  lockedUntil?: Date | undefined;
}

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== undefined && state.lockedUntil > now;
}

/**
 * One PIN check, reserved in the API before the PIN is looked at. `final` is the attempt that
 * reaches the limit: its reservation already writes the lock (`provisionalLock`), so whatever
 * happens to the call afterwards (a crash, a lost write), no further attempt can be reserved
 * until that lock expires, and only a right PIN on this very attempt lifts it.
 */
export interface PinAttempt {
  attempt: number;
  final: boolean;
  provisionalLock?: Date | undefined;
}

export type Reservation =
  | { kind: 'locked'; until: Date }
  | { kind: 'reserved'; reservation: PinAttempt; next: LockoutState };

/**
 * Reserves the next PIN check from the state just read: refused while locked; an expired lock
 * starts a fresh count. The caller writes `next` with the read's resourceVersion as precondition,
 * so of two calls that read the same state only one reservation lands.
 */
export function reservePinAttempt(state: LockoutState, now: Date, policy: LockoutPolicy): Reservation {
  if (state.lockedUntil && state.lockedUntil > now) return { kind: 'locked', until: state.lockedUntil };
  const prior = state.lockedUntil ? 0 : Math.min(Math.max(state.failedAttempts, 0), policy.maxAttempts - 1);
  const attempt = prior + 1;
  if (attempt < policy.maxAttempts) return { kind: 'reserved', reservation: { attempt, final: false }, next: { failedAttempts: attempt } };
  const provisionalLock = new Date(now.getTime() + policy.lockoutMs);
  return { kind: 'reserved', reservation: { attempt, final: true, provisionalLock }, next: { failedAttempts: attempt, lockedUntil: provisionalLock } };
}

export type AfterRightPin =
  /** Someone else's lock holds (another call's last attempt, or its lockout): no login now. */
  | { kind: 'locked'; until: Date }
  /** Nothing to write: no wrong PINs counted and no lock. */
  | { kind: 'clean' }
  /** Write a zero count and no lock, with the read's resourceVersion as precondition. */
  | { kind: 'reset'; next: LockoutState };

/**
 * A right PIN resets the count, from the state read after the check. It lifts only the lock its
 * own reservation wrote: a newer lock, written by another call meanwhile, stays.
 */
export function afterRightPin(state: LockoutState, reservation: PinAttempt, now: Date): AfterRightPin {
  const own = reservation.provisionalLock !== undefined && state.lockedUntil?.getTime() === reservation.provisionalLock.getTime();
  if (state.lockedUntil && state.lockedUntil > now && !own) return { kind: 'locked', until: state.lockedUntil };
  if (state.failedAttempts === 0 && state.lockedUntil === undefined) return { kind: 'clean' };
  return { kind: 'reset', next: { failedAttempts: 0 } };
}

/**
 * A wrong PIN needs no write of its own: the reservation counted it. On the final attempt the
 * lock written with the reservation becomes a lockout, and this is the one place one starts.
 */
export function lockoutStartedBy(reservation: PinAttempt): Date | undefined {
  return reservation.final ? reservation.provisionalLock : undefined;
}

/** A desk's lock only ever moves later: the new value to write, or undefined when it holds already. */
export function laterLock(current: Date | undefined, until: Date): Date | undefined {
  return current && current >= until ? undefined : until;
}
