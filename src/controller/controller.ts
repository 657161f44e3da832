import type { KubeConfig } from '@kubernetes/client-node';
import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../api/index.ts';
import { CORE_KINDS, generationChanged, Manager, type Clock, type Informer, type KubeObject, type LeaderElectionConfig, type ReconcileContext } from '../runtime/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { Claims, deviceClaims, userClaims } from '../api/conflicts.ts';
import type { HotDeskContext } from './context.ts';
import { reconcileDevice } from './device-reconciler.ts';
import { DomainMetrics } from './domain-metrics.ts';
import { EDGE_APP_LABEL } from './edge-objects.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { LABEL_DEVICE, LABEL_POOL, PROVISIONING_SELECTOR } from '../api/labels.ts';
import { isFinished } from '../api/session-index.ts';
import { reconcilePool } from './pool-reconciler.ts';
import { DEFAULT_MISSING_GRACE_MS, reconcileSession } from './session-reconciler.ts';
import { reconcileUser } from './user-reconciler.ts';
import { WriteMemo } from './write-memo.ts';
import { SecretLabelCache } from './secret-labels.ts';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; undefined watches all. */
  namespace?: string | undefined;
  leaderElection: LeaderElectionConfig | false;
  server?: { host?: string; port?: number } | false;
  edgeImage?: string;
  deviceConcurrency?: number;
  logger?: Logger;
  /** The controller's one clock (queues, Events, lease, session policy); real time by default. */
  clock?: Clock;
  shutdownGraceMs?: number;
  /** How long a login waits for a device, user or pool that does not exist before it is refused. Default 60 s. */
  missingReferenceGraceMs?: number;
}

const EDGE_SELECTOR = `app.kubernetes.io/name=${EDGE_APP_LABEL}`;

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

/**
 * A watch that keeps claims in step with the informer and requeues the objects sharing a MAC,
 * idle account or extension with the one that changed, before or after the change: when the
 * older of two is deleted or changed, the newer one's Conflict must clear.
 */
function claimPeers<T extends KubeObject>(claims: Claims<T>, informer: Informer<T>) {
  return (o: KubeObject): string[] => {
    const obj = o as T;
    // The informer calls handlers with the object it caches; on delete it no longer holds it.
    const present = informer.get(obj.metadata?.namespace, obj.metadata?.name ?? '') === obj;
    return (present ? claims.put(obj) : claims.remove(obj)).map((p) => key(p.metadata?.namespace, p.metadata?.name ?? ''));
  };
}

/** The hot-desk controller: four reconcilers on one manager, sharing cached reads. */
export function createController(opts: ControllerOptions): Manager {
  const logger = opts.logger ?? createLogger('hotdesk-controller');
  const mgr = new Manager({
    kubeConfig: opts.kubeConfig,
    name: 'hotdesk-controller',
    leaderElection: opts.leaderElection,
    server: opts.server ?? { port: 8080 },
    logger,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.shutdownGraceMs !== undefined ? { shutdownGraceMs: opts.shutdownGraceMs } : {}),
  });
  const ns = opts.namespace ? { namespace: opts.namespace } : {};
  const pools = mgr.informer<HotDeskPool & KubeObject>(HOTDESK_KINDS.pool, ns);
  const users = mgr.informer<HotDeskUser & KubeObject>(HOTDESK_KINDS.user, ns);
  const devices = mgr.informer<HotDeskDevice & KubeObject>(HOTDESK_KINDS.device, ns);
  const sessions = mgr.informer<HotDeskSession & KubeObject>(HOTDESK_KINDS.session, ns);
  // The controller compares only the revision annotation of the files it rendered: keeping their
  // content in memory would cost the size of every phone's file.
  const withoutData = (o: KubeObject): KubeObject => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata });
  const provisioning = mgr.informer(CORE_KINDS.configMap, { ...ns, labelSelector: PROVISIONING_SELECTOR, transform: withoutData });
  const deployments = mgr.informer(CORE_KINDS.deployment, { ...ns, labelSelector: EDGE_SELECTOR });

  const metrics = new DomainMetrics(mgr.metrics.registry, {
    devices: () => devices.list(),
    sessions: () => sessions.list(),
    poolOfSession: (s) => devices.get(s.metadata.namespace, s.spec.device)?.spec.pool,
  });
  const ctx: HotDeskContext = {
    client: mgr.client,
    recorder: mgr.recorder,
    metrics,
    logger,
    now: () => new Date(mgr.clock.now()),
    edgeImage: opts.edgeImage ?? 'ghcr.io/hotdesk-operator/hotdesk-operator:latest',
    statusWrites: new WriteMemo(),
    secretLabels: new SecretLabelCache(mgr.client),
    caches: { pools, users, devices, sessions, provisioning, deployments },
    claims: { devices: new Claims<HotDeskDevice & KubeObject>(deviceClaims), users: new Claims<HotDeskUser & KubeObject>(userClaims) },
  };
  devices.addHandler({ onDelete: (d) => ctx.statusWrites.forget(`device/${d.metadata.uid}`) });
  users.addHandler({ onDelete: (u) => ctx.statusWrites.forget(`user/${u.metadata.uid}`) });
  sessions.addHandler({ onDelete: (s) => ctx.statusWrites.forget(`session/${s.metadata.uid}`) });
  // Each reconcile writes through its own ReconcileContext's client: a shutdown past its grace,
  // or a lost lease, cancels the requests still in flight.
  const run = (rc: ReconcileContext): HotDeskContext => ({ ...ctx, client: rc.client, logger: rc.logger });
  const sessionOptions = { missingGraceMs: opts.missingReferenceGraceMs ?? DEFAULT_MISSING_GRACE_MS };
  const ofPool = (pool: KubeObject) => (s: HotDeskSession & KubeObject) => {
    const ns = pool.metadata?.namespace;
    return (devices.get(ns, s.spec.device)?.spec.pool ?? users.get(ns, s.spec.user)?.spec.pool) === pool.metadata?.name;
  };

  mgr.add({
    name: 'hotdeskdevice',
    for: HOTDESK_KINDS.device,
    ...ns,
    concurrency: opts.deviceConcurrency ?? 4,
    watches: [
      { kind: HOTDESK_KINDS.device, ...ns, map: claimPeers(ctx.claims.devices, devices) },
      { kind: HOTDESK_KINDS.session, ...ns, map: (o) => [key(o.metadata?.namespace, (o as unknown as HotDeskSession).spec.device)] },
      // A pool's or user's status changes with every login (counts, active sessions); only a spec
      // change, a creation or a deletion alters what a device renders.
      {
        kind: HOTDESK_KINDS.user, ...ns, predicate: generationChanged,
        map: (o) => devices.list(o.metadata?.namespace).filter((d) => d.status?.occupant?.user === o.metadata?.name).map((d) => key(d.metadata.namespace, d.metadata.name ?? '')),
      },
      {
        // A deleted pool puts its devices in Error at once.
        kind: HOTDESK_KINDS.pool, ...ns, predicate: generationChanged,
        map: (o) => devices.list(o.metadata?.namespace).filter((d) => d.spec.pool === o.metadata?.name).map((d) => key(d.metadata.namespace, d.metadata.name ?? '')),
      },
      { kind: CORE_KINDS.configMap, ...ns, labelSelector: PROVISIONING_SELECTOR, transform: withoutData, map: (o) => [key(o.metadata?.namespace, o.metadata?.labels?.[LABEL_DEVICE] ?? '')] },
    ],
    reconcile: async (_k, rc) => reconcileDevice(run(rc), rc.namespace ?? '', rc.name),
  });

  mgr.add({
    name: 'hotdesksession',
    for: HOTDESK_KINDS.session,
    ...ns,
    // Admission compares with every active session: one at a time keeps two logins from both winning.
    concurrency: 1,
    watches: [
      {
        kind: HOTDESK_KINDS.device, ...ns,
        map: (o) => sessions.list(o.metadata?.namespace).filter((s) => s.spec.device === o.metadata?.name).map((s) => key(s.metadata.namespace, s.metadata.name ?? '')),
      },
      {
        kind: HOTDESK_KINDS.user, ...ns,
        map: (o) => sessions.list(o.metadata?.namespace).filter((s) => s.spec.user === o.metadata?.name && s.status?.phase !== 'Ended').map((s) => key(s.metadata.namespace, s.metadata.name ?? '')),
      },
      {
        // A deleted pool ends its sessions (poolGone); a policy edit reschedules their expiry.
        kind: HOTDESK_KINDS.pool, ...ns, predicate: generationChanged,
        map: (o) => sessions.list(o.metadata?.namespace).filter((s) => !isFinished(s) && ofPool(o)(s)).map((s) => key(s.metadata.namespace, s.metadata.name ?? '')),
      },
    ],
    reconcile: async (_k, rc) => reconcileSession(ctx, rc, sessionOptions),
  });

  mgr.add({
    name: 'hotdeskuser',
    for: HOTDESK_KINDS.user,
    ...ns,
    watches: [
      { kind: HOTDESK_KINDS.user, ...ns, map: claimPeers(ctx.claims.users, users) },
      { kind: HOTDESK_KINDS.session, ...ns, map: (o) => [key(o.metadata?.namespace, (o as unknown as HotDeskSession).spec.user)] },
      {
        kind: HOTDESK_KINDS.pool, ...ns,
        map: (o) => users.list(o.metadata?.namespace).filter((u) => u.spec.pool === o.metadata?.name).map((u) => key(u.metadata.namespace, u.metadata.name ?? '')),
      },
    ],
    reconcile: async (_k, rc) => reconcileUser(run(rc), rc.namespace ?? '', rc.name),
  });

  mgr.add({
    name: 'hotdeskpool',
    for: HOTDESK_KINDS.pool,
    ...ns,
    watches: [
      { kind: HOTDESK_KINDS.device, ...ns, map: (o) => [key(o.metadata?.namespace, (o as unknown as HotDeskDevice).spec.pool)] },
      { kind: HOTDESK_KINDS.user, ...ns, map: (o) => [key(o.metadata?.namespace, (o as unknown as HotDeskUser).spec.pool)] },
      { kind: CORE_KINDS.deployment, ...ns, labelSelector: EDGE_SELECTOR, map: (o) => [key(o.metadata?.namespace, o.metadata?.labels?.[LABEL_POOL] ?? '')] },
    ],
    reconcile: async (_k, rc) => reconcilePool(run(rc), rc.namespace ?? '', rc.name),
  });

  return mgr;
}
