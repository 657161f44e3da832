import type { HotDeskDevice } from '../api/index.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { CONTROLLER_FIELD_MANAGER, provisioningConfigMapName } from '../api/labels.ts';
import { occupyingSession } from '../api/session-index.ts';
import { ApiError, applyObject, applyStatus, CORE_KINDS, isStatus, mergeConditions, objectPath, type Condition, type ConditionInput, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import type { HotDeskContext } from './context.ts';
import type { Occupancy } from './device-config.ts';
import {
  configMapFailureReason, DEVICE_CONTROLLER_CONDITIONS, deviceStatusObject, planDevice, planWriteFailure, type DeviceControllerStatus, type PlannedEvent,
} from './device-plan.ts';
import { deviceSecretReferences } from '../policy/secret-opt-in.ts';

type Device = HotDeskDevice & KubeObject;

/**
 * Renders the device's provisioning file for whoever holds it (or its idle identity) into a
 * ConfigMap it owns, and reports phase, occupant and revision in status. Reads come from the
 * caches, planDevice decides, and each object is then applied once: the ConfigMap first, and the
 * status only after it, so status never says "rendered" for a file the API server refused.
 */
export async function reconcileDevice(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const device = ctx.caches.devices.get(namespace, name);
  if (!device || device.metadata.deletionTimestamp) return; // owned ConfigMap goes with it (owner reference)

  const pool = ctx.caches.pools.get(namespace, device.spec.pool);
  const session = occupyingSession(ctx.caches.sessions.list(namespace), name);
  const user = session ? ctx.caches.users.get(namespace, session.spec.user) : undefined;
  const occupancy: Occupancy | undefined = session && user ? { session, user } : undefined;
  const lost = ctx.claims.devices.lost(device);
  const customTemplate = pool && !lost ? await readCustomTemplate(ctx, device) : undefined;
  const secretLabels = await ctx.secretLabels.lookup(namespace, deviceSecretReferences(device).map((r) => r.name));
  const plan = planDevice({
    device, pool, occupancy, customTemplate, lost,
    cachedConfigMap: ctx.caches.provisioning.get(namespace, provisioningConfigMapName(name)),
    secretLabels,
  });
  if (plan.render) ctx.metrics.renders.inc({ vendor: device.spec.vendor, result: plan.render });

  if (plan.deleteConfigMap) {
    try {
      await ctx.client.request({ method: 'DELETE', path: objectPath(CORE_KINDS.configMap, namespace, plan.deleteConfigMap) });
    } catch (err) {
      if (!isStatus(err, 404)) return reportWriteFailure(ctx, device, 'ConfigMapDeleteFailed', `could not delete provisioning ConfigMap ${plan.deleteConfigMap}: ${errorText(err)}`, err);
    }
  }
  if (plan.configMap) {
    try {
      await applyObject(ctx.client, CORE_KINDS.configMap, plan.configMap, { fieldManager: CONTROLLER_FIELD_MANAGER });
    } catch (err) {
      const reason = configMapFailureReason(err instanceof ApiError ? err.statusCode : undefined);
      return reportWriteFailure(ctx, device, reason, `provisioning ConfigMap ${plan.configMap.metadata?.name} was not written: ${errorText(err)}`, err);
    }
  }
  const wrote = await writeStatusOrReport(ctx, device, plan.status, plan.conditions);
  record(ctx, device, wrote ? [...plan.events, ...plan.eventsIfWritten] : plan.events);
  return plan.recheckAfterMs ? { requeueAfter: plan.recheckAfterMs } : undefined;
}

async function readCustomTemplate(ctx: HotDeskContext, device: Device): Promise<string | undefined> {
  const ref = device.spec.customTemplate?.configMapRef;
  if (!ref) return undefined;
  try {
    const cm = await ctx.client.request<{ data?: Record<string, string> }>({ method: 'GET', path: objectPath(CORE_KINDS.configMap, device.metadata.namespace, ref.name) });
    return cm.data?.[ref.key];
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    void ctx.recorder.event(device, 'Warning', 'TemplateReadFailed', `could not read custom template ConfigMap ${ref.name}: ${errorText(err)}`);
    throw err;
  }
}

/**
 * A write failed: status says so (Error, with the failure as the reason) and a Warning Event
 * names it; the error goes back to the queue, which retries with backoff.
 */
async function reportWriteFailure(ctx: HotDeskContext, device: Device, reason: string, message: string, cause: unknown): Promise<never> {
  const failure = planWriteFailure(device, reason, message);
  record(ctx, device, failure.events);
  try {
    await writeStatus(ctx, device, failure.status, failure.conditions);
  } catch (err) {
    ctx.logger.warn({ device: device.metadata.name, err: errorText(err) }, 'could not report a failed write in status');
  }
  throw cause;
}

async function writeStatusOrReport(ctx: HotDeskContext, device: Device, status: DeviceControllerStatus, conditions: ConditionInput[]): Promise<boolean> {
  try {
    return await writeStatus(ctx, device, status, conditions);
  } catch (err) {
    record(ctx, device, [{ type: 'Warning', reason: 'StatusWriteFailed', message: `status was not written: ${errorText(err)}` }]);
    throw err;
  }
}

function record(ctx: HotDeskContext, device: Device, events: readonly PlannedEvent[]): void {
  // Events are best effort (the recorder never throws): nothing waits for them.
  for (const e of events) void ctx.recorder.event(device, e.type, e.reason, e.message);
}

/**
 * Applies the controller's part of the status unless the cache (or the write memo, while the
 * cache lags behind our own write) shows it already. Returns whether it wrote.
 */
async function writeStatus(ctx: HotDeskContext, device: Device, status: DeviceControllerStatus, conditions: readonly ConditionInput[]): Promise<boolean> {
  const generation = device.metadata.generation ?? 0;
  const owned = (c: { type: string }) => (DEVICE_CONTROLLER_CONDITIONS as readonly string[]).includes(c.type);
  // Conditions the controller owns and no longer wants (a resolved Conflict) are left out, so
  // server-side apply removes them; the edge's own conditions are not part of this apply.
  const merged = mergeConditions(device.status?.conditions?.filter(owned), conditions, ctx.now())
    .filter((c) => conditions.some((n) => n.type === c.type));
  const current = device.status;
  // Field by field: the API server returns keys in its own order, so serialised text would differ.
  const occupantKey = (o: DeviceControllerStatus['occupant']) => (o ? `${o.user}/${o.extension}/${o.session}` : '');
  const conditionKey = (c: Condition) => `${c.type}/${c.status}/${c.reason}/${c.message}/${c.observedGeneration ?? ''}`;
  const same = current !== undefined && current.phase === status.phase
    && current.configRevision === status.configRevision
    && occupantKey(current.occupant) === occupantKey(status.occupant)
    && current.observedGeneration === generation
    && (current.conditions ?? []).filter(owned).map(conditionKey).join('|') === merged.map(conditionKey).join('|');
  if (same) return false;
  const memoKey = `device/${device.metadata.uid}`;
  const desired = { ...status, generation, conditions: conditions.map((c) => [c.type, c.status, c.reason, c.message]) };
  if (ctx.statusWrites.alreadyWritten(memoKey, device.metadata.resourceVersion, desired)) return false;
  await applyStatus(ctx.client, HOTDESK_KINDS.device, deviceStatusObject(device, status, merged), { fieldManager: CONTROLLER_FIELD_MANAGER });
  ctx.statusWrites.record(memoKey, device.metadata.resourceVersion, desired);
  return true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
