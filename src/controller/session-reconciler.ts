import { GROUP_VERSION, type HotDeskPool, type HotDeskSession, type HotDeskSessionStatus, type SessionEndReason } from '../api/index.ts';
import { addFinalizer, applyStatus, isStatus, mergeConditions, objectPath, removeFinalizer, type Condition, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import { optionalDuration, parseDuration } from '../policy/duration.ts';
import { nextExpiry } from '../policy/expiry.ts';
import { admitSession } from '../policy/session-admission.ts';
import type { HotDeskContext } from './context.ts';
import { reconcileDevice } from './device-reconciler.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_LOGOUT_REQUESTED, CONTROLLER_FIELD_MANAGER, SESSION_FINALIZER } from '../api/labels.ts';
import { isActive, isFinished, sessionRef } from '../api/session-index.ts';
import { sessionPoolLabel } from '../policy/session-pool-label.ts';
import { labelSession } from './session-labels.ts';

type Session = HotDeskSession & KubeObject;

const MAX_REQUEUE_MS = 6 * 3600_000;

/**
 * Admits, expires and ends sessions. One worker: admission compares a session with every other
 * active one, and two admissions racing could both take the same desk.
 */
export async function reconcileSession(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const session = ctx.caches.sessions.get(namespace, name);
  if (!session) return;
  if (session.metadata.deletionTimestamp) return finalize(ctx, session);

  const phase = session.status?.phase;
  if (phase === 'Ended' || phase === 'Refused') return retain(ctx, session);

  if (!session.metadata.finalizers?.includes(SESSION_FINALIZER)) {
    await addFinalizer(ctx.client, HOTDESK_KINDS.session, session, SESSION_FINALIZER);
    return; // the update comes back through the watch
  }
  // The pool label keys each edge to its own pool's sessions (admission policy); add it when missing.
  const device = ctx.caches.devices.get(session.metadata.namespace ?? '', session.spec.device);
  const poolLabel = device ? sessionPoolLabel(session.metadata.labels, session.spec.device, device.spec.pool) : undefined;
  if (poolLabel?.action === 'label') {
    await labelSession(ctx.client, session, poolLabel.labels);
    return; // the update comes back through the watch
  }
  if (phase === 'Active') return keepOrEnd(ctx, session);
  return admit(ctx, session);
}

async function admit(ctx: HotDeskContext, session: Session): Promise<ReconcileOutcome> {
  const ns = session.metadata.namespace ?? '';
  const device = ctx.caches.devices.get(ns, session.spec.device);
  const user = ctx.caches.users.get(ns, session.spec.user);
  const pool = device ? ctx.caches.pools.get(ns, device.spec.pool) : undefined;
  const poolName = device?.spec.pool ?? user?.spec.pool ?? '';
  const refuse = async (message: string) => {
    ctx.metrics.logins.inc({ namespace: ns, pool: poolName, result: 'refused' });
    await setPhase(ctx, session, { phase: 'Refused', endedAt: ctx.now().toISOString(), endReason: 'refused', message }, 'Refused');
    await ctx.recorder.event(session, 'Warning', 'LoginRefused', message);
  };

  if (!device) return refuse(`device ${session.spec.device} not found in namespace ${ns}`);
  if (!user) return refuse(`user ${session.spec.user} not found in namespace ${ns}`);
  if (!pool) return refuse(`pool ${device.spec.pool} of device ${device.metadata.name} not found`);
  const poolLabel = sessionPoolLabel(session.metadata.labels, session.spec.device, device.spec.pool);
  if (poolLabel.action === 'refuse') return refuse(poolLabel.message);
  if (user.spec.pool !== device.spec.pool) return refuse(`user ${user.metadata.name} belongs to pool ${user.spec.pool}, device ${device.metadata.name} to pool ${device.spec.pool}`);
  if (!user.spec.hotDeskingEnabled) return refuse(`hot desking is not enabled for user ${user.metadata.name} (spec.hotDeskingEnabled is false)`);
  const lockedUntil = user.status?.lockedUntil ? new Date(user.status.lockedUntil) : undefined;
  if (lockedUntil && lockedUntil > ctx.now()) return refuse(`user ${user.metadata.name} is locked out after too many wrong PINs until ${lockedUntil.toISOString()}`);

  const active = ctx.caches.sessions.list(ns).filter(isActive).map(sessionRef);
  const decision = admitSession(sessionRef(session), active, pool.spec.sessionPolicy.loggedInElsewhere);
  if (decision.action === 'refuse') return refuse(decision.message);
  if (decision.action === 'superseded') {
    ctx.metrics.logins.inc({ namespace: ns, pool: poolName, result: 'superseded' });
    await setPhase(ctx, session, { phase: 'Ended', endedAt: ctx.now().toISOString(), endReason: 'superseded', message: decision.message }, 'Ended');
    return;
  }

  for (const other of decision.end) {
    const o = ctx.caches.sessions.get(ns, other.name);
    if (o) await endSession(ctx, o, other.reason, other.message, pool);
  }
  const now = ctx.now();
  await setPhase(ctx, session, { phase: 'Active', startedAt: now.toISOString(), message: `${user.spec.extension} logged in at ${device.metadata.name}` }, 'Active');
  ctx.metrics.logins.inc({ namespace: ns, pool: poolName, result: 'success' });
  await ctx.recorder.event(session, 'Normal', 'LoggedIn', `extension ${user.spec.extension} logged in at device ${device.metadata.name} (${session.spec.origin})`);
  const next = scheduleExpiry(session, pool, now, now);
  // Already due (a zero-length policy): look again at once and end it.
  return next === 'due' ? { requeueAfter: 1 } : next;
}

async function keepOrEnd(ctx: HotDeskContext, session: Session): Promise<ReconcileOutcome> {
  const ns = session.metadata.namespace ?? '';
  const device = ctx.caches.devices.get(ns, session.spec.device);
  const user = ctx.caches.users.get(ns, session.spec.user);
  const pool = device ? ctx.caches.pools.get(ns, device.spec.pool) : undefined;
  if (session.metadata.annotations?.[ANNOTATION_LOGOUT_REQUESTED]) return endSession(ctx, session, 'logout', 'the user dialled the logout code', pool);
  if (!device) return endSession(ctx, session, 'deviceGone', `device ${session.spec.device} was deleted`, pool);
  if (!user) return endSession(ctx, session, 'userGone', `user ${session.spec.user} was deleted`, pool);
  if (!user.spec.hotDeskingEnabled) return endSession(ctx, session, 'disabled', `hot desking was disabled for user ${session.spec.user}`, pool);
  if (!pool) return;

  const startedAt = new Date(session.status?.startedAt ?? session.metadata.creationTimestamp ?? ctx.now());
  const now = ctx.now();
  const outcome = scheduleExpiry(session, pool, startedAt, now);
  if (outcome === 'due') {
    const expiry = expiryOf(session, pool, startedAt)!;
    return endSession(ctx, session, expiry.reason, `${expiry.rule} reached at ${expiry.at.toISOString()}`, pool);
  }
  await setReady(ctx, session, device.status?.occupant?.session === session.metadata.name);
  return outcome;
}

function expiryOf(session: Session, pool: HotDeskPool, startedAt: Date) {
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

/** 'due' when a policy has already ended the session, else when to look again. */
function scheduleExpiry(session: Session, pool: HotDeskPool, startedAt: Date, now: Date): { requeueAfter: number } | undefined | 'due' {
  const expiry = expiryOf(session, pool, startedAt);
  if (!expiry) return undefined;
  const wait = expiry.at.getTime() - now.getTime();
  if (wait <= 0) return 'due';
  return { requeueAfter: Math.min(wait, MAX_REQUEUE_MS) };
}

/** Ends a session: status, metrics, an Event; the device follows through its watch. */
export async function endSession(ctx: HotDeskContext, session: Session, reason: SessionEndReason, message: string, pool?: HotDeskPool): Promise<undefined> {
  const ns = session.metadata.namespace ?? '';
  const poolName = pool?.metadata.name ?? ctx.caches.devices.get(ns, session.spec.device)?.spec.pool ?? '';
  const now = ctx.now();
  await setPhase(ctx, session, { phase: 'Ended', endedAt: now.toISOString(), endReason: reason, message }, 'Ended');
  ctx.metrics.logouts.inc({ namespace: ns, pool: poolName, reason });
  if (session.status?.startedAt) {
    ctx.metrics.sessionDuration.observe({ namespace: ns, pool: poolName }, (now.getTime() - new Date(session.status.startedAt).getTime()) / 1000);
  }
  await ctx.recorder.event(session, 'Normal', 'SessionEnded', `session ended (${reason}): ${message}`);
  return undefined;
}

/** Deletion is a force logout: the device is put back to idle before the object may go. */
async function finalize(ctx: HotDeskContext, session: Session): Promise<ReconcileOutcome> {
  if (!session.metadata.finalizers?.includes(SESSION_FINALIZER)) return;
  const ns = session.metadata.namespace ?? '';
  if (session.status?.phase === 'Active') {
    const pool = poolOf(ctx, session);
    ctx.metrics.logouts.inc({ namespace: ns, pool: pool?.metadata.name ?? '', reason: 'forced' });
    if (session.status.startedAt) {
      ctx.metrics.sessionDuration.observe({ namespace: ns, pool: pool?.metadata.name ?? '' }, (ctx.now().getTime() - new Date(session.status.startedAt).getTime()) / 1000);
    }
    await ctx.recorder.event(session, 'Normal', 'SessionEnded', `session ended (forced): deleted by ${session.spec.origin === 'admin' ? 'an admin' : 'a client'}`);
  }
  await reconcileDevice(ctx, ns, session.spec.device);
  try {
    await removeFinalizer(ctx.client, HOTDESK_KINDS.session, session, SESSION_FINALIZER);
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

/** Ended sessions stay as an audit trail for the pool's retention, then go. */
async function retain(ctx: HotDeskContext, session: Session): Promise<ReconcileOutcome> {
  if (session.metadata.finalizers?.includes(SESSION_FINALIZER)) {
    await removeFinalizer(ctx.client, HOTDESK_KINDS.session, session, SESSION_FINALIZER);
    return;
  }
  const pool = poolOf(ctx, session);
  const retentionMs = parseDuration(pool?.spec.sessionPolicy.retention ?? '24h');
  const endedAt = new Date(session.status?.endedAt ?? session.metadata.creationTimestamp ?? ctx.now());
  const wait = endedAt.getTime() + retentionMs - ctx.now().getTime();
  if (wait > 0) return { requeueAfter: Math.min(wait, MAX_REQUEUE_MS) };
  try {
    await ctx.client.request({ method: 'DELETE', path: objectPath(HOTDESK_KINDS.session, session.metadata.namespace, session.metadata.name ?? ''), body: { preconditions: { uid: session.metadata.uid } } });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

function poolOf(ctx: HotDeskContext, session: Session): HotDeskPool | undefined {
  const ns = session.metadata.namespace ?? '';
  const device = ctx.caches.devices.get(ns, session.spec.device);
  const user = ctx.caches.users.get(ns, session.spec.user);
  const pool = device?.spec.pool ?? user?.spec.pool;
  return pool ? ctx.caches.pools.get(ns, pool) : undefined;
}

type PhaseStatus = Pick<HotDeskSessionStatus, 'phase' | 'startedAt' | 'endedAt' | 'endReason' | 'message'>;

async function setPhase(ctx: HotDeskContext, session: Session, status: PhaseStatus, readyReason: string): Promise<void> {
  const ready: Omit<Condition, 'lastTransitionTime'> = {
    type: 'Ready',
    status: 'False',
    reason: readyReason,
    message: status.phase === 'Active' ? 'waiting for the device to carry the occupant\'s configuration' : (status.message ?? ''),
    observedGeneration: session.metadata.generation ?? 0,
  };
  const keep = status.phase === 'Ended' ? { startedAt: session.status?.startedAt } : {};
  await applySessionStatus(ctx, session, { ...keep, ...status, lastActivityAt: session.status?.lastActivityAt }, [ready]);
}

async function setReady(ctx: HotDeskContext, session: Session, ready: boolean): Promise<void> {
  const current = session.status?.conditions?.find((c) => c.type === 'Ready');
  const want = ready ? 'True' : 'False';
  if (current?.status === want) return;
  const { conditions: _c, observedGeneration: _g, ...rest } = session.status ?? {};
  await applySessionStatus(ctx, session, rest, [{
    type: 'Ready',
    status: want,
    reason: ready ? 'Provisioned' : 'Provisioning',
    message: ready ? `device ${session.spec.device} carries this session's configuration` : 'waiting for the device to carry the occupant\'s configuration',
    observedGeneration: session.metadata.generation ?? 0,
  }]);
}

async function applySessionStatus(ctx: HotDeskContext, session: Session, status: Partial<HotDeskSessionStatus>, conditions: Array<Omit<Condition, 'lastTransitionTime'>>): Promise<void> {
  const clean = Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined));
  await applyStatus(ctx.client, HOTDESK_KINDS.session, {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.session.kind,
    metadata: { name: session.metadata.name, namespace: session.metadata.namespace },
    status: {
      ...clean,
      observedGeneration: session.metadata.generation ?? 0,
      conditions: mergeConditions(session.status?.conditions as Condition[] | undefined, conditions, ctx.now()),
    },
  }, { fieldManager: CONTROLLER_FIELD_MANAGER });
}

export { isFinished };
