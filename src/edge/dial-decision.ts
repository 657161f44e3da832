/**
 * What the edge does with a dialled number, decided from the pool's codes and the device's state
 * alone. Pure, so every rule is one table row in a unit test.
 */

export interface DialCodes {
  /** A code after which the IVR asks for the extension, then the PIN (Yeastar `*93`). */
  login?: string | undefined;
  /** Login with the extension in the code itself: prefix + extension + suffix (3CX `*77*101*`). */
  loginWithExtension?: { prefix: string; suffix: string } | undefined;
  logout: string;
  emergencyNumbers: readonly string[];
}

export type DeviceState = 'idle' | 'occupied' | 'unknown';

export type DialDecision =
  | { action: 'login'; extension?: string }
  | { action: 'logout' }
  | { action: 'emergency' }
  | { action: 'forward' }
  | { action: 'block'; reason: string };

export const IDLE_BLOCK_REASON = 'Hot desk not logged in: emergency calls only';

/** Phones send dialled strings percent-encoded in the Request-URI user part (`%2A77%2A101%2A`). */
export function dialledDigits(requestUriUser: string): string {
  try {
    return decodeURIComponent(requestUriUser);
  } catch {
    return requestUriUser;
  }
}

/**
 * `state` is how the caller's identity may call (an idle account: emergency only); `deskOccupied`
 * whether the desk holds a session, which can differ while a phone has not re-synced yet: logout
 * must still work then.
 */
export function decideDial(dialled: string, state: DeviceState, codes: DialCodes, deskOccupied: boolean = state === 'occupied'): DialDecision {
  if (state !== 'unknown') {
    // Logout is checked first: 3CX's `*77*5*` also fits the shape of a login with extension 5.
    if (dialled === codes.logout) return deskOccupied ? { action: 'logout' } : { action: 'block', reason: 'Hot desk not logged in: nothing to log out' };
    if (codes.login !== undefined && dialled === codes.login) return { action: 'login' };
    const withExt = codes.loginWithExtension;
    if (withExt && dialled.length > withExt.prefix.length + withExt.suffix.length && dialled.startsWith(withExt.prefix) && dialled.endsWith(withExt.suffix)) {
      const extension = dialled.slice(withExt.prefix.length, dialled.length - withExt.suffix.length);
      if (/^\d+$/.test(extension)) return { action: 'login', extension };
    }
  }
  if (codes.emergencyNumbers.includes(dialled)) return { action: 'emergency' };
  if (state === 'idle') return { action: 'block', reason: IDLE_BLOCK_REASON };
  return { action: 'forward' };
}
