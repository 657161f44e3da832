import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../api/index.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_CONTENT_TYPES, ANNOTATION_CREDENTIALS, ANNOTATION_REVISION, LABEL_DEVICE, LABEL_MANAGED_BY, LABEL_POOL, MANAGED_BY } from '../api/labels.ts';
import { isActive, occupyingSession } from '../api/session-index.ts';
import { deviceClaims, extensionKey, idleAccountKey, trackClaims, userClaims, type Claims } from '../api/conflicts.ts';
import { CORE_KINDS, Informer, type KubeClient, type KubeObject } from '../runtime/index.ts';
import type { Logger } from '../log.ts';
import { CacheIndex } from '../runtime/cache-index.ts';
import type { DeskDirectory } from './caller-attribution.ts';
import type { DeviceState } from './dial-decision.ts';
import type { ProvisioningFile } from './provisioning-server.ts';

export type Device = HotDeskDevice & KubeObject;
export type User = HotDeskUser & KubeObject;
export type Session = HotDeskSession & KubeObject;
export type ProvisioningConfigMap = KubeObject & { data?: Record<string, string> };

/** Which desk a SIP identity belongs to, and in which state it is calling. */
export interface CallerDesk {
  device: Device;
  state: Exclude<DeviceState, 'unknown'>;
  /** The occupant when the identity is a logged-in user's extension. */
  user?: User | undefined;
  session?: Session | undefined;
}

/**
 * The edge's read-only view of its pool, served from informer caches: the pool, its devices,
 * users, sessions and rendered provisioning files, indexed for the SIP and HTTP hot paths.
 */
export class PoolView implements DeskDirectory {
  readonly namespace: string;
  readonly poolName: string;
  readonly pools: Informer<HotDeskPool & KubeObject>;
  readonly devices: Informer<Device>;
  readonly users: Informer<User>;
  readonly sessions: Informer<Session>;
  readonly configMaps: Informer<ProvisioningConfigMap>;
  /** MACs, idle accounts and extensions, so a conflict's newer object is left out (src/api/conflicts.ts). */
  readonly #deviceClaims: Claims<Device>;
  readonly #userClaims: Claims<User>;
  /** Idle accounts without case, for a claim written in another case than the account's. */
  readonly #deviceByFoldedIdleUser: CacheIndex<Device>;
  readonly #configMapByFile: CacheIndex<ProvisioningConfigMap>;
  readonly #configMapByDevice: CacheIndex<ProvisioningConfigMap>;
  /** Parsed annotations per cached ConfigMap object (the informer replaces the object on change). */
  readonly #fileAnnotations = new WeakMap<ProvisioningConfigMap, { types: Record<string, string>; credentials: { secret: string; key: string } }>();

  constructor(client: KubeClient, opts: { namespace: string; pool: string; logger: Logger; resyncPeriodMs?: number }) {
    this.namespace = opts.namespace;
    this.poolName = opts.pool;
    const common = { namespace: opts.namespace, logger: opts.logger, ...(opts.resyncPeriodMs ? { resyncPeriodMs: opts.resyncPeriodMs } : {}) };
    this.pools = new Informer(client, { ...common, kind: HOTDESK_KINDS.pool, fieldSelector: `metadata.name=${opts.pool}` });
    this.devices = new Informer(client, { ...common, kind: HOTDESK_KINDS.device });
    this.users = new Informer(client, { ...common, kind: HOTDESK_KINDS.user });
    this.sessions = new Informer(client, { ...common, kind: HOTDESK_KINDS.session });
    this.configMaps = new Informer(client, { ...common, kind: CORE_KINDS.configMap, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_POOL}=${opts.pool}` });
    this.#deviceClaims = trackClaims(this.devices, deviceClaims);
    this.#userClaims = trackClaims(this.users, userClaims);
    this.#deviceByFoldedIdleUser = new CacheIndex(this.devices, (d) => (d.spec.pool === opts.pool ? [d.spec.idleIdentity.username.toLowerCase()] : []));
    this.#configMapByFile = new CacheIndex(this.configMaps, (cm) => Object.keys(cm.data ?? {}));
    this.#configMapByDevice = new CacheIndex(this.configMaps, (cm) => {
      const device = cm.metadata?.labels?.[LABEL_DEVICE];
      return device ? [device] : [];
    });
  }

  informers(): Informer<any>[] {
    return [this.pools, this.devices, this.users, this.sessions, this.configMaps];
  }

  pool(): (HotDeskPool & KubeObject) | undefined {
    return this.pools.get(this.namespace, this.poolName);
  }

  device(name: string): Device | undefined {
    const d = this.devices.get(this.namespace, name);
    return d && d.spec.pool === this.poolName && !this.#deviceClaims.lost(d) ? d : undefined;
  }

  userByExtension(extension: string): User | undefined {
    return this.#userClaims.holder(extensionKey(this.namespace, this.poolName, extension));
  }

  user(name: string): User | undefined {
    const u = this.users.get(this.namespace, name);
    return u && u.spec.pool === this.poolName && !this.#userClaims.lost(u) ? u : undefined;
  }

  occupyingSession(device: string): Session | undefined {
    return occupyingSession(this.sessions.list(this.namespace), device) as Session | undefined;
  }

  activeSessionsOfUser(user: string): Session[] {
    return this.sessions.list(this.namespace).filter((s) => s.spec.user === user && isActive(s));
  }

  /**
   * The desk behind a SIP identity (the user part of From or To): an idle account (HD0001) is that
   * desk, idle; a logged-in extension is the desk its session holds.
   */
  deskOf(identity: string): CallerDesk | undefined {
    const idle = this.#deviceClaims.holder(idleAccountKey(this.namespace, this.poolName, identity));
    if (idle) return this.#deviceClaims.lost(idle) ? undefined : { device: idle, state: 'idle' };
    const user = this.userByExtension(identity);
    if (!user) return undefined;
    const sessions = this.activeSessionsOfUser(user.metadata.name ?? '');
    const session = sessions[0];
    if (!session) return undefined;
    const device = this.device(session.spec.device);
    return device ? { device, state: 'occupied', user, session } : undefined;
  }

  deskOfIdleAccount(account: string): string | undefined {
    const exact = this.deskOf(account);
    if (exact?.state === 'idle') return exact.device.metadata.name;
    const folded = this.#deviceByFoldedIdleUser.get(account.toLowerCase())?.metadata.name;
    return folded !== undefined && this.device(folded) ? folded : undefined;
  }

  deskOfExtension(extension: string): string | undefined {
    const desk = this.deskOf(extension);
    return desk?.state === 'occupied' ? desk.device.metadata.name : undefined;
  }

  occupantExtension(device: string): string | undefined {
    const session = this.occupyingSession(device);
    return session ? this.user(session.spec.user)?.spec.extension : undefined;
  }

  occupied(device: string): boolean {
    return this.occupyingSession(device) !== undefined;
  }

  /** The desk as the feature-code IVR wants it, for a caller proven to be at `device`. */
  callerDesk(device: string, state: CallerDesk['state']): CallerDesk | undefined {
    const d = this.device(device);
    if (!d) return undefined;
    if (state === 'idle') return { device: d, state };
    const session = this.occupyingSession(device);
    const user = session ? this.user(session.spec.user) : undefined;
    return { device: d, state, user, session };
  }

  /** Names of the files rendered for a device. */
  filesOfDevice(device: string): string[] {
    return Object.keys(this.#configMapByDevice.get(device)?.data ?? {});
  }

  /**
   * Everything the provisioning server needs to serve this file, short of the secrets themselves:
   * the rendered file, the MAC the phone must authenticate as, and where its secrets are kept.
   */
  servedFile(fileName: string): ProvisioningFile | undefined {
    const rendered = this.provisioningFile(fileName);
    const device = rendered ? this.device(rendered.device) : undefined;
    if (!rendered || !device) return undefined;
    const auth = device.spec.provisioningAuth?.secretRef;
    return {
      device: rendered.device,
      username: device.spec.mac,
      content: rendered.content,
      contentType: rendered.contentType,
      passwordRef: rendered.credentials,
      ...(auth ? { authRef: { secret: auth.name, key: auth.passwordKey } } : {}),
    };
  }

  /** The rendered file served under this name, with what the edge needs to serve it. */
  provisioningFile(fileName: string): { device: string; content: string; contentType: string; revision: string; credentials: { secret: string; key: string } } | undefined {
    const cm = this.#configMapByFile.get(fileName);
    const content = cm?.data?.[fileName];
    const annotations = cm?.metadata?.annotations ?? {};
    const device = cm?.metadata?.labels?.[LABEL_DEVICE];
    if (!cm || content === undefined || !device || !annotations[ANNOTATION_CREDENTIALS]) return undefined;
    let parsed = this.#fileAnnotations.get(cm);
    if (!parsed) {
      parsed = {
        types: JSON.parse(annotations[ANNOTATION_CONTENT_TYPES] ?? '{}') as Record<string, string>,
        credentials: JSON.parse(annotations[ANNOTATION_CREDENTIALS]) as { secret: string; key: string },
      };
      this.#fileAnnotations.set(cm, parsed);
    }
    return {
      device,
      content,
      contentType: parsed.types[fileName] ?? 'text/plain; charset=utf-8',
      revision: annotations[ANNOTATION_REVISION] ?? '',
      credentials: parsed.credentials,
    };
  }
}
