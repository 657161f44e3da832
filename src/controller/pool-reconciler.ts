import { createHash } from 'node:crypto';
import { GROUP_VERSION, type HotDeskDevice, type HotDeskPool, type HotDeskUser } from '../api/index.ts';
import { featureCodeProblems } from '../api/feature-codes.ts';
import { EDGE_KINDS, HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_OBJECTS_CHECKSUM, CONTROLLER_FIELD_MANAGER, edgeName } from '../api/labels.ts';
import {
  ApiError, applyObject, applyStatus, CORE_KINDS, controllerReference, mergeConditions, type ConditionInput, type EventType, type KindDescriptor, type KubeObject, type ReconcileOutcome,
} from '../runtime/index.ts';
import type { HotDeskContext } from './context.ts';
import { edgeObjects } from './edge-objects.ts';
import { deviceSecretReferences, poolSecrets, secretOptIn, userSecretReferences, type OptInDecision, type SecretLabels } from '../policy/secret-opt-in.ts';

type Pool = HotDeskPool & KubeObject;
type EdgeDeployment = KubeObject & { status?: { readyReplicas?: number } };

/** The condition types the controller owns on a pool. */
const POOL_CONTROLLER_CONDITIONS = ['Ready', 'Degraded'];

export interface PoolPlanInput {
  pool: Pool;
  users: readonly HotDeskUser[];
  devices: readonly HotDeskDevice[];
  /** The edge Deployment as cached. */
  deployment: EdgeDeployment | undefined;
  defaultImage: string;
  /** The labels of each Secret the users and devices name (null: not found). */
  secretLabels: (secret: string) => SecretLabels;
}

export interface PoolPlan {
  /** The edge objects to apply, in order; empty when the cached Deployment shows they are current. */
  objects: { kind: KindDescriptor; object: KubeObject }[];
  status: { edgeReadyReplicas: number; devices: number; occupiedDevices: number; observedGeneration: number };
  /** Every condition the controller owns on the pool; a type left out is removed. */
  conditions: ConditionInput[];
  unchanged: boolean;
  events: { type: EventType; reason: string; message: string }[];
  /** Whether the edge mounts the Secret spec.edge.tls names (false also when the pool has no TLS). */
  tlsSecretAllowed: boolean;
}

/**
 * Pure: the pool's edge (ServiceAccount, Role, RoleBinding, Service, Deployment, all owned by the
 * pool), its counts and conditions, from what the caches hold.
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  const { pool, users, devices, deployment } = input;
  // Only Secrets labelled for this pool: naming one in a spec does not let the edge read it.
  const refs = [...users.flatMap(userSecretReferences), ...devices.flatMap(deviceSecretReferences)];
  const secretNames = poolSecrets(refs, pool.metadata.name ?? '', input.secretLabels).allowed;
  const tlsSecret = tlsSecretDecision(pool, input.secretLabels);
  const edge = edgeObjects({ pool, defaultImage: input.defaultImage, secretNames, tlsSecretAllowed: tlsSecret?.allowed === true });
  const owner = [controllerReference(pool, HOTDESK_KINDS.pool)];
  const owned = (o: object, annotations?: Record<string, string>): KubeObject => {
    const obj = o as KubeObject;
    return { ...obj, metadata: { ...obj.metadata, ownerReferences: owner, ...(annotations ? { annotations } : {}) } };
  };
  // Device churn requeues the pool for its counts; the edge objects are written only when they change.
  const checksum = createHash('sha256').update(JSON.stringify(edge)).digest('hex').slice(0, 16);
  const current = deployment?.metadata?.annotations?.[ANNOTATION_OBJECTS_CHECKSUM] === checksum;
  const objects = current ? [] : [
    { kind: EDGE_KINDS.serviceAccount, object: owned(edge.serviceAccount) },
    { kind: EDGE_KINDS.role, object: owned(edge.role) },
    { kind: EDGE_KINDS.roleBinding, object: owned(edge.roleBinding) },
    { kind: CORE_KINDS.service, object: owned(edge.service) },
    // Last, with the checksum: it marks every object before it as written.
    { kind: CORE_KINDS.deployment, object: owned(edge.deployment, { [ANNOTATION_OBJECTS_CHECKSUM]: checksum }) },
  ];

  const ready = deployment?.status?.readyReplicas ?? 0;
  const wanted = pool.spec.edge.replicas;
  const generation = pool.metadata.generation ?? 0;
  const readyCondition: ConditionInput = wanted === 0
    ? { type: 'Ready', status: 'False', reason: 'EdgeScaledDown', message: 'spec.edge.replicas is 0: no edge serves this pool', observedGeneration: generation }
    : ready > 0
      ? { type: 'Ready', status: 'True', reason: 'EdgeAvailable', message: `${ready}/${wanted} edge pods ready`, observedGeneration: generation }
      : { type: 'Ready', status: 'False', reason: 'EdgeNotReady', message: `0/${wanted} edge pods ready`, observedGeneration: generation };
  const conditions = [readyCondition];
  const degraded: Array<{ reason: string; message: string }> = [];
  // The API server refuses such codes today, but a pool stored before that rule still has them.
  const problems = featureCodeProblems(pool.spec.featureCodes, pool.spec.emergency.numbers);
  if (problems.length > 0) degraded.push({ reason: 'FeatureCodesClash', message: problems.map((p) => p.message).join('; ') });
  if (tlsSecret && !tlsSecret.allowed) {
    degraded.push({ reason: `EdgeTls${tlsSecret.reason}`, message: `${tlsSecret.message}; until then the edge serves SIP without TLS, and phones provisioned for TLS cannot register` });
  }
  if (degraded.length > 0) {
    conditions.push({ type: 'Degraded', status: 'True', reason: degraded[0]!.reason, message: degraded.map((d) => d.message).join('; '), observedGeneration: generation });
  }

  const status = { edgeReadyReplicas: ready, devices: devices.length, occupiedDevices: devices.filter((d) => d.status?.phase === 'Occupied').length, observedGeneration: generation };
  const before = pool.status;
  const key = (c: { type: string; status: string; reason: string; message: string }) => `${c.type}/${c.status}/${c.reason}/${c.message}`;
  const beforeConditions = before?.conditions?.filter((c) => POOL_CONTROLLER_CONDITIONS.includes(c.type)) ?? [];
  const unchanged = before?.edgeReadyReplicas === status.edgeReadyReplicas && before.devices === status.devices && before.occupiedDevices === status.occupiedDevices
    && before.observedGeneration === generation && beforeConditions.map(key).sort().join('|') === conditions.map(key).sort().join('|');
  const events: PoolPlan['events'] = [];
  for (const c of conditions) {
    const was = beforeConditions.find((b) => b.type === c.type);
    if (was?.reason === c.reason && (c.type === 'Ready' || was.message === c.message)) continue;
    const good = c.type === 'Ready' ? c.status === 'True' : c.status === 'False';
    events.push({ type: good ? 'Normal' : 'Warning', reason: c.reason, message: c.message });
  }
  return { objects, status, conditions, unchanged, events, tlsSecretAllowed: tlsSecret?.allowed === true };
}

/**
 * May the edge pods mount the pool's TLS Secret? A Secret volume is mounted whatever the edge's Role
 * says, and a pool may name its own edge image, so the Secret must opt in to the pool like every
 * other Secret the pool uses. Undefined: the pool has no TLS.
 */
function tlsSecretDecision(pool: Pool, labelsOf: (secret: string) => SecretLabels): OptInDecision | undefined {
  const tls = pool.spec.edge.tls;
  if (!tls) return undefined;
  return secretOptIn({ field: 'spec.edge.tls.secretName', name: tls.secretName }, pool.metadata.name ?? '', labelsOf(tls.secretName));
}

/** The reason a failed write of an edge object is reported under, e.g. ServiceInvalid. */
export function edgeWriteFailureReason(kind: string, statusCode: number | undefined): string {
  const what = statusCode === 422 ? 'Invalid' : statusCode === 403 ? 'Forbidden' : statusCode === 409 ? 'Conflict' : 'WriteFailed';
  return `Edge${kind}${what}`;
}

export async function reconcilePool(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const pool = ctx.caches.pools.get(namespace, name);
  if (!pool || pool.metadata.deletionTimestamp) return;
  const users = ctx.caches.users.list(namespace).filter((u) => u.spec.pool === name);
  const devices = ctx.caches.devices.list(namespace).filter((d) => d.spec.pool === name);
  // Any known answer will do: the users' and devices' own reconciles refresh it.
  const secretLabels = await ctx.secretLabels.lookup(namespace, [...users.flatMap(userSecretReferences), ...devices.flatMap(deviceSecretReferences)].map((r) => r.name), Infinity);
  // Secrets are not watched: a TLS Secret created or labelled later is found by looking again.
  const tlsSecretName = pool.spec.edge.tls?.secretName;
  const tlsSecretLabels = tlsSecretName === undefined ? undefined : await ctx.secretLabels.labels(namespace, tlsSecretName, TLS_SECRET_RECHECK_MS);
  const labelsOf = (secret: string): SecretLabels => (secret === tlsSecretName ? tlsSecretLabels ?? null : secretLabels(secret));
  const plan = planPool({
    pool,
    users,
    devices,
    deployment: ctx.caches.deployments.get(namespace, edgeName(name)) as EdgeDeployment | undefined,
    defaultImage: ctx.edgeImage,
    secretLabels: labelsOf,
  });
  const opts = { fieldManager: CONTROLLER_FIELD_MANAGER };
  for (const { kind, object } of plan.objects) {
    try {
      await applyObject(ctx.client, kind, object, opts);
    } catch (err) {
      const reason = edgeWriteFailureReason(kind.kind, err instanceof ApiError ? err.statusCode : undefined);
      const message = `edge ${kind.kind} ${object.metadata?.name} was not written: ${errorText(err)}`;
      void ctx.recorder.event(pool, 'Warning', reason, message);
      await writeStatus(ctx, pool, plan.status, [{ type: 'Ready', status: 'False', reason, message, observedGeneration: plan.status.observedGeneration }, ...plan.conditions.filter((c) => c.type !== 'Ready')])
        .catch((statusErr: unknown) => ctx.logger.warn({ pool: name, err: errorText(statusErr) }, 'could not report a failed write in status'));
      throw err;
    }
  }
  if (!plan.unchanged) {
    try {
      await writeStatus(ctx, pool, plan.status, plan.conditions);
    } catch (err) {
      void ctx.recorder.event(pool, 'Warning', 'StatusWriteFailed', `status was not written: ${errorText(err)}`);
      throw err;
    }
  }
  for (const e of plan.events) void ctx.recorder.event(pool, e.type, e.reason, e.message);
  if (tlsSecretName !== undefined && !plan.tlsSecretAllowed) return { requeueAfter: TLS_SECRET_RECHECK_MS };
}

/** How soon a pool whose TLS Secret is missing or not opted in looks for it again. */
const TLS_SECRET_RECHECK_MS = 10_000;

async function writeStatus(ctx: HotDeskContext, pool: Pool, status: PoolPlan['status'], conditions: readonly ConditionInput[]): Promise<void> {
  const owned = pool.status?.conditions?.filter((c) => POOL_CONTROLLER_CONDITIONS.includes(c.type));
  await applyStatus(ctx.client, HOTDESK_KINDS.pool, {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.pool.kind,
    metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace },
    status: { ...status, conditions: mergeConditions(owned, conditions, ctx.now()).filter((c) => conditions.some((n) => n.type === c.type)) },
  }, { fieldManager: CONTROLLER_FIELD_MANAGER });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
