import type { HotDeskSession } from './index.ts';
import type { SessionRef } from '../policy/session-admission.ts';

/** Active and not on its way out: a session being deleted no longer holds its desk. */
export function isActive(s: HotDeskSession): boolean {
  return s.status?.phase === 'Active' && !s.metadata.deletionTimestamp;
}

export function isFinished(s: HotDeskSession): boolean {
  return s.status?.phase === 'Ended' || s.status?.phase === 'Refused';
}

export function createdAt(s: HotDeskSession): Date {
  const t = s.metadata.creationTimestamp;
  return t ? new Date(t) : new Date(0);
}

export function sessionRef(s: HotDeskSession): SessionRef {
  return { name: s.metadata.name ?? '', device: s.spec.device, user: s.spec.user, createdAt: createdAt(s) };
}

/** The session that holds the device, the newest if a race left two. */
export function occupyingSession(sessions: readonly HotDeskSession[], device: string): HotDeskSession | undefined {
  let found: HotDeskSession | undefined;
  for (const s of sessions) {
    if (s.spec.device !== device || !isActive(s)) continue;
    if (!found || createdAt(s) > createdAt(found)) found = s;
  }
  return found;
}

export function activeSessionsOfUser(sessions: readonly HotDeskSession[], user: string): HotDeskSession[] {
  return sessions.filter((s) => s.spec.user === user && isActive(s));
}
