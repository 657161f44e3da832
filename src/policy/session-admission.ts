/**
 * What happens when a session starts: which other sessions end, or whether it is refused.
 * Pure: the reconciler feeds it the sessions it sees in its cache and carries out the result.
 */

export type LoggedInElsewherePolicy = 'kick' | 'refuse' | 'allow';

export interface SessionRef {
  name: string;
  device: string;
  user: string;
  /** Creation order decides which of two logins is the newer. */
  createdAt: Date;
}

export type EndReasonForConflict = 'roamed' | 'superseded';

export type Admission =
  | { action: 'activate'; end: Array<{ name: string; reason: EndReasonForConflict; message: string }> }
  | { action: 'refuse'; message: string }
  /** A newer login for the same device or user already won; this one should end as superseded. */
  | { action: 'superseded'; by: string; message: string };

function newer(a: SessionRef, b: SessionRef): boolean {
  const t = a.createdAt.getTime() - b.createdAt.getTime();
  return t !== 0 ? t > 0 : a.name > b.name;
}

/**
 * Decides the fate of `candidate` given the other sessions that are active (or about to be).
 * - Another user's session on the same device ends as `superseded`: a new login on an occupied
 *   desk takes it over, as 3CX does.
 * - The same user's session on another device follows the pool policy: `kick` ends it as `roamed`
 *   (Kazoo's default, Mitel), `refuse` refuses the new login with a reason, `allow` keeps both.
 * - The same user on the same device again: the older one is superseded.
 */
export function admitSession(candidate: SessionRef, active: SessionRef[], policy: LoggedInElsewherePolicy): Admission {
  const others = active.filter((s) => s.name !== candidate.name);
  const sameDevice = others.filter((s) => s.device === candidate.device);
  const sameUserElsewhere = others.filter((s) => s.user === candidate.user && s.device !== candidate.device);

  const newerOnDevice = sameDevice.find((s) => newer(s, candidate));
  if (newerOnDevice) {
    return { action: 'superseded', by: newerOnDevice.name, message: `a newer login (${newerOnDevice.name}) took over device ${candidate.device}` };
  }

  const end: Array<{ name: string; reason: EndReasonForConflict; message: string }> = sameDevice.map((s) => ({
    name: s.name,
    reason: 'superseded',
    message: s.user === candidate.user
      ? `user ${candidate.user} logged in again on device ${candidate.device} (${candidate.name})`
      : `user ${candidate.user} logged in on device ${candidate.device} (${candidate.name})`,
  }));

  if (sameUserElsewhere.length > 0) {
    if (policy === 'refuse') {
      const where = sameUserElsewhere.map((s) => s.device).join(', ');
      return { action: 'refuse', message: `user ${candidate.user} is already logged in on device ${where}; the pool's loggedInElsewhere policy is refuse` };
    }
    if (policy === 'kick') {
      for (const s of sameUserElsewhere) {
        // Under kick, a newer session elsewhere means this candidate is the stale one.
        if (newer(s, candidate)) {
          return { action: 'superseded', by: s.name, message: `user ${candidate.user} logged in later on device ${s.device} (${s.name})` };
        }
        end.push({ name: s.name, reason: 'roamed', message: `user ${candidate.user} moved to device ${candidate.device} (${candidate.name})` });
      }
    }
  }
  return { action: 'activate', end };
}
