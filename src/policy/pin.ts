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

export interface LockoutState {
  failedAttempts: number;
  lockedUntil?: Date | undefined;
}

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== undefined && state.lockedUntil > now;
}

/** Counts one wrong PIN; the attempt that reaches the limit locks for the lockout time. */
export function recordPinFailure(state: LockoutState, now: Date, policy: LockoutPolicy): LockoutState & { lockedOut: boolean } {
  // An expired lockout starts a fresh count.
  const prior = state.lockedUntil && state.lockedUntil <= now ? 0 : state.failedAttempts;
  const failedAttempts = prior + 1;
  if (failedAttempts >= policy.maxAttempts) {
    return { failedAttempts, lockedUntil: new Date(now.getTime() + policy.lockoutMs), lockedOut: true };
  }
  return { failedAttempts, lockedUntil: undefined, lockedOut: false };
}
