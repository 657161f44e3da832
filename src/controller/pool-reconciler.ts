import { createHash } from 'node:crypto';
import { GROUP_VERSION } from '../api/index.ts';
import { applyObject, applyStatus, CORE_KINDS, controllerReference, mergeConditions, type Condition, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import type { HotDeskContext } from './context.ts';
import { edgeObjects } from './edge-objects.ts';
import { deviceSecretReferences, userSecretReferences } from '../policy/secret-opt-in.ts';
import { EDGE_KINDS, HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_OBJECTS_CHECKSUM, CONTROLLER_FIELD_MANAGER, edgeName } from '../api/labels.ts';

/**
 * Runs the pool's edge (ServiceAccount, Role, RoleBinding, Deployment, Service, all owned by the
 * pool) and reports edge readiness and device counts.
 */
export async function reconcilePool(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const pool = ctx.caches.pools.get(namespace, name);
  if (!pool || pool.metadata.deletionTimestamp) return;

  const users = ctx.caches.users.list(namespace).filter((u) => u.spec.pool === name);
  const devices = ctx.caches.devices.list(namespace).filter((d) => d.spec.pool === name);
  // Only Secrets labelled for this pool: naming one in a spec does not let the edge read it.
  const refs = [...users.flatMap(userSecretReferences), ...devices.flatMap(deviceSecretReferences)];
  const { allowed: secretNames } = await ctx.secretLabels.poolSecrets(namespace, name, refs, Infinity);
  const objects = edgeObjects({ pool, defaultImage: ctx.edgeImage, secretNames });
  const owner = [controllerReference(pool as KubeObject, HOTDESK_KINDS.pool)];
  const withOwner = (o: object) => {
    const obj = o as KubeObject;
    return { ...obj, metadata: { ...obj.metadata, ownerReferences: owner } };
  };
  const opts = { fieldManager: CONTROLLER_FIELD_MANAGER };
  // Device churn requeues the pool for its counts; the edge objects are written only when they change.
  const checksum = createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 16);
  const deployment = ctx.caches.deployments.get(namespace, edgeName(name)) as (KubeObject & { status?: { readyReplicas?: number } }) | undefined;
  if (deployment?.metadata?.annotations?.[ANNOTATION_OBJECTS_CHECKSUM] !== checksum) {
    await applyObject(ctx.client, EDGE_KINDS.serviceAccount, withOwner(objects.serviceAccount), opts);
    await applyObject(ctx.client, EDGE_KINDS.role, withOwner(objects.role), opts);
    await applyObject(ctx.client, EDGE_KINDS.roleBinding, withOwner(objects.roleBinding), opts);
    await applyObject(ctx.client, CORE_KINDS.service, withOwner(objects.service), opts);
    const dep = withOwner(objects.deployment);
    await applyObject(ctx.client, CORE_KINDS.deployment, { ...dep, metadata: { ...dep.metadata, annotations: { [ANNOTATION_OBJECTS_CHECKSUM]: checksum } } }, opts);
  }

  const ready = deployment?.status?.readyReplicas ?? 0;
  const wanted = pool.spec.edge.replicas;
  const occupied = devices.filter((d) => d.status?.phase === 'Occupied').length;
  const generation = pool.metadata.generation ?? 0;
  const readyCondition: Omit<Condition, 'lastTransitionTime'> = wanted === 0
    ? { type: 'Ready', status: 'False', reason: 'EdgeScaledDown', message: 'spec.edge.replicas is 0: no edge serves this pool', observedGeneration: generation }
    : ready > 0
      ? { type: 'Ready', status: 'True', reason: 'EdgeAvailable', message: `${ready}/${wanted} edge pods ready`, observedGeneration: generation }
      : { type: 'Ready', status: 'False', reason: 'EdgeNotReady', message: `0/${wanted} edge pods ready`, observedGeneration: generation };
  const status = { edgeReadyReplicas: ready, devices: devices.length, occupiedDevices: occupied, observedGeneration: generation };
  const before = pool.status;
  const beforeReady = before?.conditions?.find((c) => c.type === 'Ready');
  const unchanged = before?.edgeReadyReplicas === ready && before.devices === devices.length && before.occupiedDevices === occupied
    && before.observedGeneration === generation && beforeReady?.status === readyCondition.status && beforeReady.message === readyCondition.message;
  if (!unchanged) {
    await applyStatus(ctx.client, HOTDESK_KINDS.pool, {
      apiVersion: GROUP_VERSION,
      kind: HOTDESK_KINDS.pool.kind,
      metadata: { name, namespace },
      status: { ...status, conditions: mergeConditions(before?.conditions as Condition[] | undefined, [readyCondition], ctx.now()) },
    }, opts);
  }
  if (beforeReady?.reason !== readyCondition.reason) {
    await ctx.recorder.event(pool as KubeObject, readyCondition.status === 'True' ? 'Normal' : 'Warning', readyCondition.reason, readyCondition.message);
  }
}
