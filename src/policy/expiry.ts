import { nextDailyTime } from './wall-clock.ts';

export interface SessionTimingPolicy {
  maxDurationMs?: number | undefined;
  /** "HH:MM" in timeZone: everyone still logged in then is logged out (Yeastar, Mitel scheduler). */
  dailyLogoutTime?: string | undefined;
  timeZone: string;
  idleTimeoutMs?: number | undefined;
}

export interface SessionTiming {
  startedAt: Date;
  /** Last call or registration activity the edge reported; idle time counts from here. */
  lastActivityAt?: Date | undefined;
  /** An end time set on the session itself (a desk booking, an admin's choice). */
  expiresAt?: Date | undefined;
}

export type ExpiryReason = 'expired' | 'idle';

export interface Expiry {
  at: Date;
  reason: ExpiryReason;
  /** Which rule set that time, for the session's status message. */
  rule: 'maxDuration' | 'dailyLogoutTime' | 'expiresAt' | 'idleTimeout';
}

/** The earliest moment a policy ends this session, or undefined when nothing ever will. */
export function nextExpiry(session: SessionTiming, policy: SessionTimingPolicy): Expiry | undefined {
  const candidates: Expiry[] = [];
  if (policy.maxDurationMs) {
    candidates.push({ at: new Date(session.startedAt.getTime() + policy.maxDurationMs), reason: 'expired', rule: 'maxDuration' });
  }
  if (policy.dailyLogoutTime) {
    candidates.push({ at: nextDailyTime(session.startedAt, policy.dailyLogoutTime, policy.timeZone), reason: 'expired', rule: 'dailyLogoutTime' });
  }
  if (session.expiresAt) candidates.push({ at: session.expiresAt, reason: 'expired', rule: 'expiresAt' });
  if (policy.idleTimeoutMs) {
    const since = session.lastActivityAt && session.lastActivityAt > session.startedAt ? session.lastActivityAt : session.startedAt;
    candidates.push({ at: new Date(since.getTime() + policy.idleTimeoutMs), reason: 'idle', rule: 'idleTimeout' });
  }
  let first: Expiry | undefined;
  for (const c of candidates) if (!first || c.at < first.at) first = c;
  return first;
}
