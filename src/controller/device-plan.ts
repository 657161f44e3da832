/**
 * The device reconciler's decisions, as a pure function of what the caches hold: which
 * provisioning ConfigMap the device should have, what its status says, and which Events to record.
 * device-reconciler.ts carries the plan out and reports a failed write; nothing here does I/O.
 */
import { GROUP_VERSION, type DevicePhase, type HotDeskDevice, type HotDeskDeviceStatus, type HotDeskPool } from '../api/index.ts';
import { describeLostClaim, type LostClaim } from '../api/conflicts.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import {
  ANNOTATION_CONTENT_TYPES, ANNOTATION_CREDENTIALS, ANNOTATION_REVISION, LABEL_DEVICE, LABEL_MANAGED_BY, LABEL_POOL, MANAGED_BY, provisioningConfigMapName,
} from '../api/labels.ts';
import { controllerReference, type ConditionInput, type EventType, type KubeObject } from '../runtime/index.ts';
import { renderDeviceConfig, type Occupancy } from './device-config.ts';
import { deviceSecretReferences, poolSecrets, type SecretLabels } from '../policy/secret-opt-in.ts';

type Device = HotDeskDevice & KubeObject;

/** The condition types the controller owns on a device; the edge owns Registered. */
export const DEVICE_CONTROLLER_CONDITIONS = ['Provisioned', 'Conflict'] as const;

export interface DevicePlanInput {
  device: Device;
  pool: HotDeskPool | undefined;
  occupancy: Occupancy | undefined;
  /** The custom template's text, when the vendor is custom and its ConfigMap key exists. */
  customTemplate: string | undefined;
  /** A MAC or idle account an older device holds (src/api/conflicts.ts). */
  lost: LostClaim<{ kind?: string; metadata?: { name?: string } }> | undefined;
  /** The provisioning ConfigMap as cached: undefined when there is none. */
  cachedConfigMap: KubeObject | undefined;
  /** The labels of each Secret the device names (null: not found). */
  secretLabels: (secret: string) => SecretLabels;
}

export type DeviceControllerStatus = Pick<HotDeskDeviceStatus, 'phase' | 'occupant' | 'configRevision'>;

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface DevicePlan {
  /** Apply this ConfigMap; undefined when the cached one already carries the revision, or nothing may be served. */
  configMap: KubeObject | undefined;
  /** Delete this ConfigMap: a device that lost its MAC must not shadow the holder's file at the edge. */
  deleteConfigMap: string | undefined;
  status: DeviceControllerStatus;
  /** Every controller-owned condition the device should carry; a type left out is removed. */
  conditions: ConditionInput[];
  /** Recorded once the writes went through: a failure the device newly reports. */
  events: PlannedEvent[];
  /** Recorded only when the status write was made, so a lagging cache does not repeat them: a new render. */
  eventsIfWritten: PlannedEvent[];
  /** For the renders metric: whether a render was attempted and how it went. */
  render: 'success' | 'error' | undefined;
  /** Look again after this long: Secrets are not watched, so a refused one may have opted in since. */
  recheckAfterMs?: number;
}

const RECHECK_SECRETS_MS = 60_000;

export function planDevice(input: DevicePlanInput): DevicePlan {
  const { device, pool } = input;
  const generation = device.metadata.generation ?? 0;
  const ns = device.metadata.namespace ?? '';
  const cmName = provisioningConfigMapName(device.metadata.name ?? '');
  const keepRevision = device.status?.configRevision ? { configRevision: device.status.configRevision } : {};
  const error = (reason: string, message: string, extra: Partial<DevicePlan> = {}): DevicePlan => ({
    configMap: undefined,
    deleteConfigMap: undefined,
    status: { phase: 'Error', ...keepRevision },
    conditions: [{ type: 'Provisioned', status: 'False', reason, message, observedGeneration: generation }],
    events: changedCondition(device, 'Provisioned', reason, message) ? [{ type: 'Warning', reason, message }] : [],
    eventsIfWritten: [],
    render: undefined,
    ...extra,
  });

  if (input.lost) {
    const { reason, message } = describeLostClaim(input.lost);
    const plan = error(reason, message, { deleteConfigMap: input.cachedConfigMap ? cmName : undefined });
    return { ...plan, conditions: [...plan.conditions, { type: 'Conflict', status: 'True', reason, message, observedGeneration: generation }] };
  }
  if (!pool) return error('PoolNotFound', `pool ${device.spec.pool} not found in namespace ${ns}: create it or fix spec.pool`);
  const refused = poolSecrets(deviceSecretReferences(device), device.spec.pool, input.secretLabels).refused[0];
  if (refused) return error(refused.reason, refused.message, { recheckAfterMs: RECHECK_SECRETS_MS });

  const config = renderDeviceConfig({ device, pool, occupancy: input.occupancy, customTemplate: input.customTemplate });
  if (!config.ok) return error(config.reason, config.message, { render: 'error' });

  const { occupancy } = input;
  const occupant = occupancy
    ? { user: occupancy.user.metadata.name ?? '', extension: occupancy.user.spec.extension, session: occupancy.session.metadata.name ?? '' }
    : undefined;
  const current = input.cachedConfigMap?.metadata?.annotations?.[ANNOTATION_REVISION] === config.revision;
  const configMap: KubeObject | undefined = current ? undefined : {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: cmName,
      namespace: ns,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POOL]: device.spec.pool, [LABEL_DEVICE]: device.metadata.name ?? '' },
      annotations: {
        [ANNOTATION_REVISION]: config.revision,
        [ANNOTATION_CREDENTIALS]: JSON.stringify(occupancy
          ? { secret: occupancy.user.spec.secretRef.name, key: occupancy.user.spec.secretRef.passwordKey }
          : { secret: device.spec.idleIdentity.secretRef.name, key: device.spec.idleIdentity.secretRef.passwordKey }),
        [ANNOTATION_CONTENT_TYPES]: JSON.stringify(Object.fromEntries(config.rendered.files.map((f) => [f.name, f.contentType]))),
      },
      ownerReferences: [controllerReference(device, HOTDESK_KINDS.device)],
    },
    data: Object.fromEntries(config.rendered.files.map((f) => [f.name, f.content])),
  } as KubeObject;

  const events: PlannedEvent[] = [];
  if (device.status?.configRevision !== config.revision) {
    const what = occupant ? `occupied configuration for extension ${occupant.extension} (session ${occupant.session})` : `idle configuration for ${device.spec.idleIdentity.username}`;
    events.push({ type: 'Normal', reason: 'Provisioned', message: `rendered the ${what}, revision ${config.revision}` });
    if (config.droppedKeys) events.push({ type: 'Warning', reason: 'KeysDropped', message: config.droppedKeys });
  }
  return {
    configMap,
    deleteConfigMap: undefined,
    status: { phase: config.phase, ...(occupant ? { occupant } : {}), configRevision: config.revision },
    conditions: [{
      type: 'Provisioned',
      status: 'True',
      reason: config.phase,
      message: occupant ? `configuration for ${occupant.extension} rendered (revision ${config.revision})` : `idle configuration rendered (revision ${config.revision})`,
      observedGeneration: generation,
    }],
    events: [],
    eventsIfWritten: events,
    render: 'success',
  };
}

/**
 * What status says after a write failed: the device is in Error with the failure named, and its
 * revision stays the one last written, since the new one never reached the ConfigMap.
 */
export function planWriteFailure(device: Device, reason: string, message: string): Pick<DevicePlan, 'status' | 'conditions' | 'events'> {
  const generation = device.metadata.generation ?? 0;
  const phase: DevicePhase = 'Error';
  return {
    status: { phase, ...(device.status?.configRevision ? { configRevision: device.status.configRevision } : {}) },
    conditions: [{ type: 'Provisioned', status: 'False', reason, message, observedGeneration: generation }],
    events: [{ type: 'Warning', reason, message }],
  };
}

/** The reason a failed ConfigMap write is reported under, from the API server's answer. */
export function configMapFailureReason(statusCode: number | undefined): string {
  switch (statusCode) {
    case 422: return 'ConfigMapInvalid';
    case 403: return 'ConfigMapForbidden';
    case 409: return 'ConfigMapConflict';
    default: return 'ConfigMapWriteFailed';
  }
}

function changedCondition(device: Device, type: string, reason: string, message: string): boolean {
  const before = device.status?.conditions?.find((c) => c.type === type);
  return before?.reason !== reason || before.message !== message;
}

/** The apply body of the device's status. */
export function deviceStatusObject(device: Device, status: DeviceControllerStatus, conditions: DevicePlan['conditions']): KubeObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.device.kind,
    metadata: { name: device.metadata.name, namespace: device.metadata.namespace },
    status: { ...status, observedGeneration: device.metadata.generation ?? 0, conditions },
  } as KubeObject;
}
