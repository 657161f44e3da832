import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../api/index.ts';
import { effectiveFeatureCodes } from '../api/feature-codes.ts';
import { describeDropped, keyCapacity, planKeys, renderProvisioning, revisionOf, type RenderedConfig } from '../provisioning/index.ts';
import type { ProvisionedKey, ProvisioningInput } from '../provisioning/model.ts';
import { edgeName } from '../api/labels.ts';

export interface Occupancy {
  session: HotDeskSession;
  user: HotDeskUser;
}

export interface DeviceConfigInput {
  device: HotDeskDevice;
  pool: HotDeskPool;
  occupancy?: Occupancy | undefined;
  /** The custom template's text, read from its ConfigMap, when the vendor is custom. */
  customTemplate?: string | undefined;
}

export type DeviceConfig =
  | {
      ok: true;
      phase: 'Idle' | 'Occupied';
      rendered: RenderedConfig;
      revision: string;
      /** Set when some of the user's keys do not fit on this model: the text of a Warning Event. */
      droppedKeys?: string | undefined;
    }
  | { ok: false; reason: string; message: string };

/** Where phones reach the pool's edge: the configured host, or the edge Service's DNS name. */
export function edgeHost(pool: HotDeskPool): string {
  const ns = pool.metadata.namespace ?? 'default';
  return pool.spec.edge.advertisedHost ?? `${edgeName(pool.metadata.name ?? '')}.${ns}.svc`;
}

/** The provisioning renderer's input for a device as it is now: idle, or carrying its occupant. */
export function provisioningInput(input: DeviceConfigInput): ProvisioningInput & { dropped: string | undefined } {
  const { device, pool, occupancy } = input;
  const codes = effectiveFeatureCodes(pool.spec.featureCodes);
  const host = edgeHost(pool);
  const identity = occupancy
    ? {
        kind: 'occupied' as const,
        username: occupancy.user.spec.extension,
        authUser: occupancy.user.spec.extension,
        displayName: occupancy.user.spec.displayName ?? occupancy.user.spec.extension,
        label: occupancy.user.spec.displayName ? `${occupancy.user.spec.extension} ${occupancy.user.spec.displayName}` : occupancy.user.spec.extension,
        extension: occupancy.user.spec.extension,
      }
    : {
        kind: 'idle' as const,
        username: device.spec.idleIdentity.username,
        authUser: device.spec.idleIdentity.username,
        displayName: device.spec.idleIdentity.displayName ?? device.spec.idleIdentity.username,
        label: device.spec.idleIdentity.displayName ?? device.spec.idleIdentity.username,
      };
  const userKeys: ProvisionedKey[] = (occupancy?.user.spec.keys ?? []).map((k) => ({ type: k.type, value: k.value ?? '', label: k.label ?? '' }));
  const plan = planKeys({
    policy: pool.spec.keyPolicy,
    identityKind: identity.kind,
    userKeys,
    logoutCode: codes.logout ?? '',
    capacity: keyCapacity(device.spec.vendor, device.spec.model ?? ''),
  });
  const loginCode = codes.loginWithExtension?.prefix ?? codes.login;
  return {
    device: {
      mac: device.spec.mac,
      vendor: device.spec.vendor,
      model: device.spec.model ?? '',
      location: device.spec.location ?? '',
      options: device.spec.options ?? {},
    },
    server: {
      sipHost: host,
      // Phones speak to the edge (over TLS when the pool has a certificate for it), which speaks
      // the PBX's transport upstream.
      ...(pool.spec.edge.tls ? { sipPort: pool.spec.edge.tls.port, transport: 'tls' as const } : { sipPort: pool.spec.edge.sipPort, transport: 'udp' as const }),
      sipDomain: pool.spec.pbx.domain ?? pool.spec.pbx.host,
      ...(device.spec.outboundProxy ? { outboundProxy: device.spec.outboundProxy } : {}),
      provisioningUrl: `http://${host}:${pool.spec.edge.httpPort}/`,
    },
    identity,
    keys: plan.keys,
    emergencyNumbers: pool.spec.emergency.numbers,
    featureCodes: { logout: codes.logout ?? '', ...(loginCode ? { login: loginCode } : {}) },
    ...(input.customTemplate !== undefined ? { customTemplate: { template: input.customTemplate } } : {}),
    dropped: plan.dropped.length > 0 ? describeDropped(plan.dropped, device.spec.model ?? device.spec.vendor) : undefined,
  };
}

/** Renders the device's file; a failure is a value with a reason, for status and an Event. */
export function renderDeviceConfig(input: DeviceConfigInput): DeviceConfig {
  if (input.device.spec.vendor === 'custom' && input.customTemplate === undefined) {
    return { ok: false, reason: 'TemplateNotFound', message: `custom template ConfigMap key ${input.device.spec.customTemplate?.configMapRef.name}/${input.device.spec.customTemplate?.configMapRef.key} not found` };
  }
  try {
    const { dropped, ...renderInput } = provisioningInput(input);
    const rendered = renderProvisioning(renderInput);
    return { ok: true, phase: input.occupancy ? 'Occupied' : 'Idle', rendered, revision: revisionOf(rendered), droppedKeys: dropped };
  } catch (err) {
    return { ok: false, reason: 'RenderFailed', message: err instanceof Error ? err.message : String(err) };
  }
}
