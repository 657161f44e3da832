import type { SessionView } from './resources.ts';

export type LoginOutcome =
  | { settled: false; phase: string }
  | { settled: true; ok: boolean; summary: string };

function reason(session: SessionView): string {
  const parts = [session.status?.endReason, session.status?.message].filter((p): p is string => !!p);
  return parts.length > 0 ? parts.join(': ') : 'no reason given';
}

/** Whether an admin login has settled, judged from its session, and what to tell the admin. */
export function loginOutcome(session: SessionView, who: string): LoginOutcome {
  const name = session.metadata?.name ?? '';
  switch (session.status?.phase) {
    case 'Active':
      return { settled: true, ok: true, summary: `${who}: logged in (session ${name})` };
    case 'Refused':
      return { settled: true, ok: false, summary: `${who}: login refused: ${reason(session)} (session ${name})` };
    case 'Ended':
      return { settled: true, ok: false, summary: `${who}: session ended before it became active: ${reason(session)} (session ${name})` };
    default:
      return { settled: false, phase: session.status?.phase ?? 'Pending' };
  }
}
