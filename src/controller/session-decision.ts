/**
 * What the session reconciler should do with one session, decided from what the caches show.
 * Pure: no I/O and no clock of its own. session-reconciler.ts gathers the facts, asks decideSession
 * for a plan and carries it out, each write once.
 */
import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskSessionStatus, HotDeskUser, SessionEndReason, SessionPhase } from '../api/index.ts';
import { SESSION_FINALIZER, ANNOTATION_LOGOUT_REQUESTED } from '../api/labels.ts';
import { createdAt } from '../api/session-index.ts';
import { optionalDuration, parseDuration } from '../policy/duration.ts';
import { nextExpiry } from '../policy/expiry.ts';
import { admitSession, type SessionRef } from '../policy/session-admission.ts';
import { sessionPoolLabel } from '../policy/session-pool-label.ts';

/** Requeues are capped so that a clock jump or a policy edit is noticed within this time. */
export const MAX_REQUEUE_MS = 6 * 3600_000;
/** A login waiting for a missing device, user or pool looks again at least this often. */
export const MISSING_RETRY_MS = 5_000;
const DEFAULT_RETENTION = '24h';

export interface SessionFacts {
  session: HotDeskSession;
  /** The session's device, user and the device's pool as the caches show them (undefined: not there). */
  device: HotDeskDevice | undefined;
  user: HotDeskUser | undefined;
  pool: HotDeskPool | undefined;
  /** Active sessions of the session's namespace: admission compares the session with them. */
  active: readonly SessionRef[];
  now: Date;
  /** How long, from its creation, a login waits for a device, user or pool that does not exist. */
  missingGraceMs: number;
}

export type ReferenceKind = 'device' | 'user' | 'pool';

export interface ReadyCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** The status fields the controller owns on a session, and its Ready condition. */
export interface SessionStatusPlan {
  phase: SessionPhase;
  startedAt?: string;
  endedAt?: string;
  endReason?: SessionEndReason;
  message?: string;
  ready: ReadyCondition;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type PlannedMetric =
  | { login: 'success' | 'refused' | 'superseded'; pool: string }
  | { logout: SessionEndReason; pool: string; durationSeconds?: number };

export interface OtherSessionEnd {
  name: string;
  reason: SessionEndReason;
  message: string;
}

/** Everything one reconcile of a session does, in the order the reconciler carries it out. */
export interface SessionPlan {
  finalizer?: 'add' | 'remove';
  /** Labels to add (the pool label, on a session made without it), before anything else. */
  labels?: Record<string, string>;
  /** Sessions that end because this one starts (before this one is written Active). */
  endOthers: OtherSessionEnd[];
  /** Status to apply; absent when the current status already says it. */
  status?: SessionStatusPlan;
  metric?: PlannedMetric;
  /** Its reason equals the Ready condition's reason whenever the plan writes one. */
  event?: PlannedEvent;
  /** Put the device back to idle before the finalizer goes (deletion is a forced logout). */
  releaseDevice?: boolean;
  /** The retention is over: delete the session. */
  deleteSession?: boolean;
  /**
   * Objects whose absence from the cache the plan rests on. A cache can be behind the API server
   * (after an outage, one kind's watch resumes before another's), so the reconciler confirms each
   * with a live read, and carries the plan out only when they are truly gone.
   */
  confirmAbsent: Array<{ kind: ReferenceKind; name: string }>;
  requeueAfter?: number;
}

const nothing = (): SessionPlan => ({ endOthers: [], confirmAbsent: [] });

export function decideSession(f: SessionFacts): SessionPlan {
  const { session } = f;
  const hasFinalizer = session.metadata.finalizers?.includes(SESSION_FINALIZER) ?? false;
  if (session.metadata.deletionTimestamp) return hasFinalizer ? forcedLogout(f) : nothing();
  const phase = session.status?.phase;
  if (phase === 'Ended' || phase === 'Refused') return hasFinalizer ? { ...nothing(), finalizer: 'remove' } : retain(f);
  if (!hasFinalizer) return { ...nothing(), finalizer: 'add' };
  // The pool label keys each edge to its own pool's sessions (admission policy); add it when missing.
  const poolLabel = f.device ? sessionPoolLabel(session.metadata.labels, session.spec.device, f.device.spec.pool) : undefined;
  if (poolLabel?.action === 'label') return { ...nothing(), labels: poolLabel.labels };
  if (phase === 'Active') return keepOrEnd(f);
  return admit(f);
}

/** The pool label of metrics: the device's pool, else the user's. */
function poolName(f: SessionFacts): string {
  return f.device?.spec.pool ?? f.user?.spec.pool ?? '';
}

function durationSeconds(session: HotDeskSession, now: Date): number | undefined {
  const started = session.status?.startedAt;
  return started ? (now.getTime() - new Date(started).getTime()) / 1000 : undefined;
}

function forcedLogout(f: SessionFacts): SessionPlan {
  const plan: SessionPlan = { ...nothing(), releaseDevice: true, finalizer: 'remove' };
  if (f.session.status?.phase !== 'Active') return plan;
  const by = f.session.spec.origin === 'admin' ? 'an admin' : 'a client';
  return {
    ...plan,
    metric: { logout: 'forced', pool: poolName(f), ...withDuration(f) },
    event: { type: 'Normal', reason: 'Forced', message: `session ended (forced): deleted by ${by}` },
  };
}

function withDuration(f: SessionFacts): { durationSeconds?: number } {
  const d = durationSeconds(f.session, f.now);
  return d === undefined ? {} : { durationSeconds: d };
}

function retain(f: SessionFacts): SessionPlan {
  const retentionMs = parseDuration(f.pool?.spec.sessionPolicy.retention ?? DEFAULT_RETENTION);
  const endedAt = new Date(f.session.status?.endedAt ?? f.session.metadata.creationTimestamp ?? f.now);
  const wait = endedAt.getTime() + retentionMs - f.now.getTime();
  if (wait > 0) return { ...nothing(), requeueAfter: Math.min(wait, MAX_REQUEUE_MS) };
  return { ...nothing(), deleteSession: true };
}

/** CamelCase condition and Event reason for an end reason: deviceGone → DeviceGone. */
export function endConditionReason(reason: SessionEndReason): string {
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

/** Ends to warn about: something the session depended on went away. */
const WARNING_ENDS: ReadonlySet<SessionEndReason> = new Set(['deviceGone', 'userGone', 'poolGone']);

/** Ending an Active session: status, metric and Event, the same wherever the end comes from. */
export function endPlan(session: HotDeskSession, reason: SessionEndReason, message: string, pool: string, now: Date): SessionPlan {
  const conditionReason = endConditionReason(reason);
  const started = session.status?.startedAt;
  const d = durationSeconds(session, now);
  return {
    ...nothing(),
    status: {
      phase: 'Ended',
      ...(started ? { startedAt: started } : {}),
      endedAt: now.toISOString(),
      endReason: reason,
      message,
      ready: { status: 'False', reason: conditionReason, message },
    },
    metric: { logout: reason, pool, ...(d === undefined ? {} : { durationSeconds: d }) },
    event: { type: WARNING_ENDS.has(reason) ? 'Warning' : 'Normal', reason: conditionReason, message: `session ended (${reason}): ${message}` },
  };
}

function keepOrEnd(f: SessionFacts): SessionPlan {
  const { session, device, user, pool } = f;
  const ns = session.metadata.namespace ?? '';
  const end = (reason: SessionEndReason, message: string, absent?: { kind: ReferenceKind; name: string }) => ({
    ...endPlan(session, reason, message, poolName(f), f.now),
    confirmAbsent: absent ? [absent] : [],
  });
  if (session.metadata.annotations?.[ANNOTATION_LOGOUT_REQUESTED]) return end('logout', 'the user dialled the logout code');
  if (!device) return end('deviceGone', `device ${session.spec.device} was deleted`, { kind: 'device', name: session.spec.device });
  if (!user) return end('userGone', `user ${session.spec.user} was deleted`, { kind: 'user', name: session.spec.user });
  if (!pool) return end('poolGone', `pool ${device.spec.pool} of device ${device.metadata.name} was deleted in namespace ${ns}`, { kind: 'pool', name: device.spec.pool });
  if (!user.spec.hotDeskingEnabled) return end('disabled', `hot desking was disabled for user ${session.spec.user}`);

  const startedAt = new Date(session.status?.startedAt ?? session.metadata.creationTimestamp ?? f.now);
  const expiry = expiryOf(session, pool, startedAt);
  if (expiry && expiry.at.getTime() <= f.now.getTime()) return end(expiry.reason, `${expiry.rule} reached at ${expiry.at.toISOString()}`);

  const plan: SessionPlan = nothing();
  if (expiry) plan.requeueAfter = Math.min(expiry.at.getTime() - f.now.getTime(), MAX_REQUEUE_MS);
  const carried = device.status?.occupant?.session === session.metadata.name;
  const ready: ReadyCondition = carried
    ? { status: 'True', reason: 'Provisioned', message: `device ${session.spec.device} carries this session's configuration` }
    : { status: 'False', reason: 'Provisioning', message: 'waiting for the device to carry the occupant\'s configuration' };
  const current = session.status?.conditions?.find((c) => c.type === 'Ready');
  if (current?.status !== ready.status) plan.status = { ...phaseFieldsOf(session.status), phase: 'Active', ready };
  return plan;
}

function phaseFieldsOf(status: HotDeskSessionStatus | undefined): Omit<SessionStatusPlan, 'phase' | 'ready'> {
  const out: Omit<SessionStatusPlan, 'phase' | 'ready'> = {};
  if (status?.startedAt) out.startedAt = status.startedAt;
  if (status?.endedAt) out.endedAt = status.endedAt;
  if (status?.endReason) out.endReason = status.endReason;
  if (status?.message) out.message = status.message;
  return out;
}

function expiryOf(session: HotDeskSession, pool: HotDeskPool, startedAt: Date) {
  const policy = pool.spec.sessionPolicy;
  return nextExpiry(
    {
      startedAt,
      lastActivityAt: session.status?.lastActivityAt ? new Date(session.status.lastActivityAt) : undefined,
      expiresAt: session.spec.expiresAt ? new Date(session.spec.expiresAt) : undefined,
    },
    {
      maxDurationMs: optionalDuration(policy.maxDuration),
      dailyLogoutTime: policy.dailyLogoutTime,
      timeZone: policy.timeZone ?? 'UTC',
      idleTimeoutMs: optionalDuration(policy.idleTimeout),
    },
  );
}

function refuse(f: SessionFacts, reason: string, message: string, absent?: { kind: ReferenceKind; name: string }): SessionPlan {
  return {
    ...nothing(),
    status: { phase: 'Refused', endedAt: f.now.toISOString(), endReason: 'refused', message, ready: { status: 'False', reason, message } },
    metric: { login: 'refused', pool: poolName(f) },
    event: { type: 'Warning', reason, message: `login refused: ${message}` },
    confirmAbsent: absent ? [absent] : [],
  };
}

/**
 * A reference that does not exist (yet): within the grace period the login stays Pending, says
 * what it waits for, and looks again; after it, the login is refused.
 */
function missing(f: SessionFacts, kind: ReferenceKind, name: string, reason: string, what: string): SessionPlan {
  const absent = { kind, name };
  const deadline = createdAt(f.session).getTime() + f.missingGraceMs;
  const left = deadline - f.now.getTime();
  if (left <= 0) return refuse(f, reason, `${what} (waited ${Math.round(f.missingGraceMs / 1000)}s for it)`, absent);
  const message = `${what}; the login waits for it until ${new Date(deadline).toISOString()}, then is refused`;
  const ready: ReadyCondition = { status: 'False', reason, message };
  const current = f.session.status;
  const currentReady = current?.conditions?.find((c) => c.type === 'Ready');
  const unchanged = current?.phase === 'Pending' && current.message === message
    && currentReady?.status === 'False' && currentReady.reason === reason && currentReady.message === message;
  return {
    ...nothing(),
    ...(unchanged ? {} : {
      status: { phase: 'Pending' as const, message, ready },
      event: { type: 'Warning' as const, reason, message },
    }),
    confirmAbsent: [absent],
    requeueAfter: Math.min(left, MISSING_RETRY_MS),
  };
}

function admit(f: SessionFacts): SessionPlan {
  const { session, device, user, pool } = f;
  const ns = session.metadata.namespace ?? '';
  if (!device) return missing(f, 'device', session.spec.device, 'DeviceNotFound', `device ${session.spec.device} not found in namespace ${ns}`);
  if (!user) return missing(f, 'user', session.spec.user, 'UserNotFound', `user ${session.spec.user} not found in namespace ${ns}`);
  if (!pool) return missing(f, 'pool', device.spec.pool, 'PoolNotFound', `pool ${device.spec.pool} of device ${device.metadata.name} not found in namespace ${ns}`);
  const poolLabel = sessionPoolLabel(session.metadata.labels, session.spec.device, device.spec.pool);
  if (poolLabel.action === 'refuse') return refuse(f, 'PoolLabelMismatch', poolLabel.message);
  if (user.spec.pool !== device.spec.pool) {
    return refuse(f, 'PoolMismatch', `user ${user.metadata.name} belongs to pool ${user.spec.pool}, device ${device.metadata.name} to pool ${device.spec.pool}`);
  }
  if (!user.spec.hotDeskingEnabled) return refuse(f, 'HotDeskingDisabled', `hot desking is not enabled for user ${user.metadata.name} (spec.hotDeskingEnabled is false)`);
  const lockedUntil = user.status?.lockedUntil ? new Date(user.status.lockedUntil) : undefined;
  if (lockedUntil && lockedUntil > f.now) return refuse(f, 'LockedOut', `user ${user.metadata.name} is locked out after too many wrong PINs until ${lockedUntil.toISOString()}`);

  const me: SessionRef = { name: session.metadata.name ?? '', device: session.spec.device, user: session.spec.user, createdAt: createdAt(session) };
  const decision = admitSession(me, [...f.active], pool.spec.sessionPolicy.loggedInElsewhere);
  if (decision.action === 'refuse') return refuse(f, 'LoggedInElsewhere', decision.message);
  if (decision.action === 'superseded') {
    return {
      ...nothing(),
      status: { phase: 'Ended', endedAt: f.now.toISOString(), endReason: 'superseded', message: decision.message, ready: { status: 'False', reason: 'Superseded', message: decision.message } },
      metric: { login: 'superseded', pool: poolName(f) },
      event: { type: 'Normal', reason: 'Superseded', message: `login superseded: ${decision.message}` },
    };
  }

  const expiry = expiryOf(session, pool, f.now);
  const wait = expiry ? expiry.at.getTime() - f.now.getTime() : undefined;
  return {
    ...nothing(),
    endOthers: decision.end.map((e) => ({ name: e.name, reason: e.reason, message: e.message })),
    status: {
      phase: 'Active',
      startedAt: f.now.toISOString(),
      message: `${user.spec.extension} logged in at ${device.metadata.name}`,
      ready: { status: 'False', reason: 'Provisioning', message: 'waiting for the device to carry the occupant\'s configuration' },
    },
    metric: { login: 'success', pool: poolName(f) },
    event: { type: 'Normal', reason: 'LoggedIn', message: `extension ${user.spec.extension} logged in at device ${device.metadata.name} (${session.spec.origin})` },
    // Already due (a zero-length policy): look again at once, and the Active branch ends it.
    ...(wait === undefined ? {} : { requeueAfter: Math.max(1, Math.min(wait, MAX_REQUEUE_MS)) }),
  };
}
