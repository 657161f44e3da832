import { GROUP_VERSION, type HotDeskSession, type HotDeskSessionStatus } from '../api/index.ts';
import { addFinalizer, applyStatus, isStatus, mergeConditions, objectPath, removeFinalizer, type Condition, type KubeObject, type ReconcileContext, type ReconcileOutcome } from '../runtime/index.ts';
import type { HotDeskContext } from './context.ts';
import { reconcileDevice } from './device-reconciler.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { CONTROLLER_FIELD_MANAGER, SESSION_FINALIZER } from '../api/labels.ts';
import { isActive, sessionRef } from '../api/session-index.ts';
import { labelSession } from './session-labels.ts';
import { decideSession, endPlan, type PlannedMetric, type ReferenceKind, type SessionPlan, type SessionStatusPlan } from './session-decision.ts';

type Session = HotDeskSession & KubeObject;

export interface SessionReconcilerOptions {
  /** How long a login waits for a device, user or pool that does not exist before it is refused. */
  missingGraceMs: number;
}

/** Default grace: long enough for a GitOps sync or a booking system to create a session first. */
export const DEFAULT_MISSING_GRACE_MS = 60_000;

/** When the cache lacks what the API server has, look again this soon (its watch enqueues it too). */
const CACHE_BEHIND_RETRY_MS = 1_000;

/** What of the runtime's ReconcileContext the session reconciler uses. */
export type SessionRun = Pick<ReconcileContext, 'namespace' | 'name' | 'signal' | 'client' | 'logger'>;

/**
 * Admits, expires and ends sessions: reads the caches, lets decideSession plan, confirms every
 * "not found" the plan rests on with a live read, then carries the plan out, each write once.
 * One worker: admission compares a session with every other active one, and two admissions racing
 * could both take the same desk.
 */
export async function reconcileSession(shared: HotDeskContext, run: SessionRun, opts: SessionReconcilerOptions): Promise<ReconcileOutcome> {
  // Writes go through the reconcile's client, so a shutdown or a lost lease cancels them.
  const ctx: HotDeskContext = { ...shared, client: run.client, logger: run.logger };
  const ns = run.namespace ?? '';
  const session = ctx.caches.sessions.get(ns, run.name);
  if (!session) return;
  const device = ctx.caches.devices.get(ns, session.spec.device);
  const user = ctx.caches.users.get(ns, session.spec.user);
  const poolName = device?.spec.pool ?? user?.spec.pool;
  const plan = decideSession({
    session,
    device,
    user,
    pool: poolName ? ctx.caches.pools.get(ns, poolName) : undefined,
    active: ctx.caches.sessions.list(ns).filter(isActive).map(sessionRef),
    now: ctx.now(),
    missingGraceMs: opts.missingGraceMs,
  });

  for (const ref of plan.confirmAbsent) {
    if (await existsLive(ctx, ref.kind, ns, ref.name)) {
      ctx.logger.debug({ [ref.kind]: ref.name }, 'the cache lacks an object the API server has; waiting for the cache');
      return { requeueAfter: CACHE_BEHIND_RETRY_MS };
    }
  }

  const memoKey = `session/${session.metadata.uid}`;
  // Timestamps left out: the same plan made a second later is still the same plan.
  const writes = {
    finalizer: plan.finalizer,
    labels: plan.labels,
    status: plan.status && [plan.status.phase, plan.status.endReason, plan.status.ready.status, plan.status.ready.reason],
    endOthers: plan.endOthers.map((o) => o.name),
    deleteSession: plan.deleteSession,
    releaseDevice: plan.releaseDevice,
  };
  const writesSomething = plan.finalizer || plan.labels || plan.status || plan.endOthers.length > 0 || plan.deleteSession || plan.releaseDevice;
  // The cache may still show the version this same plan was carried out on: do not do it twice.
  if (writesSomething && ctx.statusWrites.alreadyWritten(memoKey, session.metadata.resourceVersion, writes)) return outcome(plan);
  await carryOut(ctx, run.signal, session, plan);
  if (writesSomething) ctx.statusWrites.record(memoKey, session.metadata.resourceVersion, writes);
  return outcome(plan);
}

function outcome(plan: SessionPlan): ReconcileOutcome {
  return plan.requeueAfter !== undefined ? { requeueAfter: plan.requeueAfter } : undefined;
}

/** Stops between writes once the reconcile is cancelled: what is left is redone by the next leader. */
function checkNotCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('session reconcile cancelled: shutting down or no longer leading');
}

async function carryOut(ctx: HotDeskContext, signal: AbortSignal, session: Session, plan: SessionPlan): Promise<void> {
  const ns = session.metadata.namespace ?? '';
  if (plan.finalizer === 'add') {
    await addFinalizer(ctx.client, HOTDESK_KINDS.session, session, SESSION_FINALIZER);
    return; // the update comes back through the watch
  }
  if (plan.labels) {
    await labelSession(ctx.client, session, plan.labels);
    return; // the update comes back through the watch
  }
  for (const other of plan.endOthers) {
    checkNotCancelled(signal);
    const o = ctx.caches.sessions.get(ns, other.name);
    if (!o) continue;
    const pool = ctx.caches.devices.get(ns, o.spec.device)?.spec.pool ?? '';
    await carryOut(ctx, signal, o, endPlan(o, other.reason, other.message, pool, ctx.now()));
  }
  if (plan.status) {
    checkNotCancelled(signal);
    await applySessionStatus(ctx, session, plan.status);
  }
  if (plan.metric) count(ctx, ns, plan.metric);
  if (plan.event) void ctx.recorder.event(session, plan.event.type, plan.event.reason, plan.event.message);
  if (plan.releaseDevice) {
    checkNotCancelled(signal);
    await reconcileDevice(ctx, ns, session.spec.device);
  }
  if (plan.finalizer === 'remove') {
    checkNotCancelled(signal);
    await ignoreNotFound(removeFinalizer(ctx.client, HOTDESK_KINDS.session, session, SESSION_FINALIZER));
  }
  if (plan.deleteSession) {
    checkNotCancelled(signal);
    await ignoreNotFound(ctx.client.request({
      method: 'DELETE',
      path: objectPath(HOTDESK_KINDS.session, ns, session.metadata.name ?? ''),
      body: { preconditions: { uid: session.metadata.uid } },
    }));
  }
}

function count(ctx: HotDeskContext, namespace: string, metric: PlannedMetric): void {
  if ('login' in metric) {
    ctx.metrics.logins.inc({ namespace, pool: metric.pool, result: metric.login });
    return;
  }
  ctx.metrics.logouts.inc({ namespace, pool: metric.pool, reason: metric.logout });
  if (metric.durationSeconds !== undefined) ctx.metrics.sessionDuration.observe({ namespace, pool: metric.pool }, metric.durationSeconds);
}

async function ignoreNotFound(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

/** A live read: true when the object exists and is not being deleted. */
async function existsLive(ctx: HotDeskContext, kind: ReferenceKind, namespace: string, name: string): Promise<boolean> {
  try {
    const obj = await ctx.client.request<KubeObject>({ method: 'GET', path: objectPath(HOTDESK_KINDS[kind], namespace, name) });
    return !obj.metadata?.deletionTimestamp;
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw err;
  }
}

async function applySessionStatus(ctx: HotDeskContext, session: Session, plan: SessionStatusPlan): Promise<void> {
  const { ready, ...fields } = plan;
  // lastActivityAt is the edge's; the controller's apply carries it over so it is never dropped.
  const status: Partial<HotDeskSessionStatus> = { ...fields, ...(session.status?.lastActivityAt ? { lastActivityAt: session.status.lastActivityAt } : {}) };
  const generation = session.metadata.generation ?? 0;
  await applyStatus(ctx.client, HOTDESK_KINDS.session, {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.session.kind,
    metadata: { name: session.metadata.name, namespace: session.metadata.namespace },
    status: {
      ...status,
      observedGeneration: generation,
      conditions: mergeConditions(session.status?.conditions as Condition[] | undefined, [{ type: 'Ready', ...ready, observedGeneration: generation }], ctx.now()),
    },
  }, { fieldManager: CONTROLLER_FIELD_MANAGER });
}
