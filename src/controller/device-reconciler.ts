import { GROUP_VERSION, type HotDeskDevice, type HotDeskDeviceStatus } from '../api/index.ts';
import { applyObject, applyStatus, CORE_KINDS, controllerReference, mergeConditions, isStatus, type Condition, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import type { HotDeskContext } from './context.ts';
import { renderDeviceConfig, type Occupancy } from './device-config.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import {
  ANNOTATION_CONTENT_TYPES, ANNOTATION_CREDENTIALS, ANNOTATION_REVISION, CONTROLLER_FIELD_MANAGER, LABEL_DEVICE, LABEL_MANAGED_BY, LABEL_POOL, MANAGED_BY, provisioningConfigMapName,
} from '../api/labels.ts';
import { occupyingSession } from '../api/session-index.ts';
import { deviceSecretReferences } from '../policy/secret-opt-in.ts';

const RECHECK_SECRETS_MS = 60_000;

/**
 * Renders the device's provisioning file for whoever holds it (or its idle identity) into a
 * ConfigMap it owns, and reports phase, occupant and revision in status. Writes only what changed.
 */
export async function reconcileDevice(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const device = ctx.caches.devices.get(namespace, name);
  if (!device || device.metadata.deletionTimestamp) return; // owned ConfigMap goes with it (owner reference)
  const pool = ctx.caches.pools.get(namespace, device.spec.pool);
  if (!pool) {
    await fail(ctx, device, 'PoolNotFound', `pool ${device.spec.pool} not found in namespace ${namespace}: create it or fix spec.pool`);
    return;
  }
  // Secrets are not watched: a refused device is looked at again until its Secrets opt in.
  const refused = (await ctx.secretLabels.poolSecrets(namespace, device.spec.pool, deviceSecretReferences(device))).refused[0];
  if (refused) {
    await fail(ctx, device, refused.reason, refused.message);
    return { requeueAfter: RECHECK_SECRETS_MS };
  }

  const session = occupyingSession(ctx.caches.sessions.list(namespace), name);
  const user = session ? ctx.caches.users.get(namespace, session.spec.user) : undefined;
  const occupancy: Occupancy | undefined = session && user ? { session, user } : undefined;
  const customTemplate = await readCustomTemplate(ctx, device);
  const config = renderDeviceConfig({ device, pool, occupancy, customTemplate });
  if (!config.ok) {
    ctx.metrics.renders.inc({ vendor: device.spec.vendor, result: 'error' });
    await fail(ctx, device, config.reason, config.message);
    return;
  }
  ctx.metrics.renders.inc({ vendor: device.spec.vendor, result: 'success' });

  const cmName = provisioningConfigMapName(name);
  const existing = ctx.caches.provisioning.get(namespace, cmName);
  // The file and the status are independent writes: made together, a render costs one round trip.
  const fileWritten = existing?.metadata?.annotations?.[ANNOTATION_REVISION] === config.revision ? Promise.resolve() : applyObject(ctx.client, CORE_KINDS.configMap, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: cmName,
        namespace,
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POOL]: device.spec.pool, [LABEL_DEVICE]: name },
        annotations: {
          [ANNOTATION_REVISION]: config.revision,
          [ANNOTATION_CREDENTIALS]: JSON.stringify(occupancy
            ? { secret: occupancy.user.spec.secretRef.name, key: occupancy.user.spec.secretRef.passwordKey }
            : { secret: device.spec.idleIdentity.secretRef.name, key: device.spec.idleIdentity.secretRef.passwordKey }),
          [ANNOTATION_CONTENT_TYPES]: JSON.stringify(Object.fromEntries(config.rendered.files.map((f) => [f.name, f.contentType]))),
        },
        ownerReferences: [controllerReference(device as KubeObject, HOTDESK_KINDS.device)],
      },
      data: Object.fromEntries(config.rendered.files.map((f) => [f.name, f.content])),
    }, { fieldManager: CONTROLLER_FIELD_MANAGER });

  const occupant = occupancy
    ? { user: occupancy.user.metadata.name ?? '', extension: occupancy.user.spec.extension, session: occupancy.session.metadata.name ?? '' }
    : undefined;
  const changed = device.status?.configRevision !== config.revision;
  const statusWritten = writeStatus(ctx, device, {
    phase: config.phase,
    ...(occupant ? { occupant } : {}),
    configRevision: config.revision,
  }, [{
    type: 'Provisioned',
    status: 'True',
    reason: config.phase,
    message: occupant ? `configuration for ${occupant.extension} rendered (revision ${config.revision})` : `idle configuration rendered (revision ${config.revision})`,
  }]);
  const [, wrote] = await Promise.all([fileWritten, statusWritten]);
  if (changed && wrote) {
    const what = occupant ? `occupied configuration for extension ${occupant.extension} (session ${occupant.session})` : `idle configuration for ${device.spec.idleIdentity.username}`;
    // Events are best effort (the recorder never throws): nothing waits for them.
    void ctx.recorder.event(device, 'Normal', 'Provisioned', `rendered the ${what}, revision ${config.revision}`);
    if (config.droppedKeys) void ctx.recorder.event(device, 'Warning', 'KeysDropped', config.droppedKeys);
  }
}

async function readCustomTemplate(ctx: HotDeskContext, device: HotDeskDevice): Promise<string | undefined> {
  const ref = device.spec.customTemplate?.configMapRef;
  if (!ref) return undefined;
  try {
    const cm = await ctx.client.request<{ data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${device.metadata.namespace}/configmaps/${ref.name}` });
    return cm.data?.[ref.key];
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

async function fail(ctx: HotDeskContext, device: HotDeskDevice & KubeObject, reason: string, message: string): Promise<void> {
  const before = device.status?.conditions?.find((c) => c.type === 'Provisioned');
  await writeStatus(ctx, device, { phase: 'Error', ...(device.status?.configRevision ? { configRevision: device.status.configRevision } : {}) }, [
    { type: 'Provisioned', status: 'False', reason, message },
  ]);
  if (before?.reason !== reason || before.message !== message) {
    await ctx.recorder.event(device, 'Warning', reason, message);
  }
}

type ControllerStatus = Pick<HotDeskDeviceStatus, 'phase' | 'occupant' | 'configRevision'>;

async function writeStatus(ctx: HotDeskContext, device: HotDeskDevice & KubeObject, status: ControllerStatus, conditions: Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>): Promise<boolean> {
  const generation = device.metadata.generation ?? 0;
  const merged = mergeConditions(device.status?.conditions as Condition[] | undefined, conditions.map((c) => ({ ...c, observedGeneration: generation })), ctx.now())
    .filter((c) => conditions.some((n) => n.type === c.type));
  const current = device.status;
  // Field by field: the API server returns keys in its own order, so serialised text would differ.
  const occupantKey = (o: ControllerStatus['occupant']) => (o ? `${o.user}/${o.extension}/${o.session}` : '');
  const conditionKey = (c: Condition) => `${c.type}/${c.status}/${c.reason}/${c.message}/${c.observedGeneration ?? ''}`;
  const same = current !== undefined && current.phase === status.phase
    && current.configRevision === status.configRevision
    && occupantKey(current.occupant) === occupantKey(status.occupant)
    && current.observedGeneration === generation
    && (current.conditions ?? []).filter((c) => conditions.some((n) => n.type === c.type)).map((c) => conditionKey(c as Condition)).join('|') === merged.map(conditionKey).join('|');
  if (same) return false;
  const memoKey = `device/${device.metadata.uid}`;
  const desired = { ...status, generation, conditions: conditions.map((c) => [c.type, c.status, c.reason, c.message]) };
  if (ctx.statusWrites.alreadyWritten(memoKey, device.metadata.resourceVersion, desired)) return false;
  await applyStatus(ctx.client, HOTDESK_KINDS.device, {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.device.kind,
    metadata: { name: device.metadata.name, namespace: device.metadata.namespace },
    status: { ...status, observedGeneration: generation, conditions: merged },
  }, { fieldManager: CONTROLLER_FIELD_MANAGER });
  ctx.statusWrites.record(memoKey, device.metadata.resourceVersion, desired);
  return true;
}
