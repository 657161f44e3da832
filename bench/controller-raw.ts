import {
  AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions,
  type CoreV1Event, type KubeConfig, type V1ConfigMap,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, GROUP_VERSION, KINDS } from '../src/api/group.ts';
import { CONTROLLER_FIELD_MANAGER, PROVISIONING_SELECTOR, SESSION_FINALIZER, edgeName } from '../src/api/labels.ts';
import { forEachBounded, withRetry } from './lib/bounded.ts';
import { POOL, deviceName, sessionDevice, sessionName, type FleetSize } from './controller-fleet.ts';
import type { WriteCounts } from './controller-writes.ts';

/**
 * The baseline: a plain client-node script that makes the same number and kind of writes the
 * controller made, with the same concurrency as the controller's workers (4 device workers, one
 * each for sessions, users and pools), into a second namespace holding the same fleet. Payloads
 * are the controller's own results, copied from its namespace, so bodies have the same size; a
 * sequence number in every write makes each one a real change (a no-op apply would be cheaper).
 */
export interface Lanes {
  device: number;
  session: number;
  user: number;
  pool: number;
}

/** The controller's workers as createController sets them (deviceConcurrency defaults to 4). */
export const CONTROLLER_LANES: Lanes = { device: 4, session: 1, user: 1, pool: 1 };

type Lane = keyof Lanes;
type Op = () => Promise<unknown>;

export interface RawPlan {
  lanes: Record<Lane, Op[]>;
  /** Writes per kind the plan makes ("VERB resource[/subresource]"). */
  planned: WriteCounts;
  /** Controller write kinds the plan has no recipe for (reported, not replayed). */
  unmapped: WriteCounts;
}

const SEQ_ANNOTATION = 'bench.hotdesk.io/seq';
const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const applyParams = { fieldManager: CONTROLLER_FIELD_MANAGER, force: true };

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Item {
  metadata?: Meta;
  status?: Record<string, unknown> & { conditions?: Array<Record<string, unknown>> };
  [k: string]: unknown;
}

/** Sequence j of n over targets, cycling when the controller wrote more than once per target. */
function pick<T>(targets: readonly T[], j: number): T {
  return targets[j % targets.length] as T;
}

/** Same status, with the sequence number in every condition message so the write changes it. */
function statusWithSeq(status: Item['status'], j: number): Record<string, unknown> {
  const s = { ...(status ?? {}) };
  if (s.conditions) s.conditions = s.conditions.map((c) => ({ ...c, message: `${String(c.message ?? '')} #${j}` }));
  return s;
}

/** Reads the controller's results from `from` and builds the write plan against `to`. */
export async function planRawWrites(kc: KubeConfig, opts: {
  from: string;
  to: string;
  size: FleetSize;
  controllerWrites: WriteCounts;
  deviceUids: Map<string, string>;
}): Promise<RawPlan> {
  const { from, to, size } = opts;
  const core = kc.makeApiClient(CoreV1Api);
  const crs = kc.makeApiClient(CustomObjectsApi);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const listCr = async (plural: string) => ((await crs.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: from, plural })) as { items: Item[] }).items;

  const configMaps = new Map<string, V1ConfigMap>();
  for (const cm of (await core.listNamespacedConfigMap({ namespace: from, labelSelector: PROVISIONING_SELECTOR })).items) configMaps.set(cm.metadata?.name ?? '', cm);
  const devices = new Map((await listCr(KINDS.device.plural)).map((d) => [d.metadata?.name ?? '', d]));
  const sessions = new Map((await listCr(KINDS.session.plural)).map((s) => [s.metadata?.name ?? '', s]));
  const users = (await listCr(KINDS.user.plural));
  const pool = (await listCr(KINDS.pool.plural)).find((p) => p.metadata?.name === POOL);
  const events = (await core.listNamespacedEvent({ namespace: from })).items;

  // Natural order of the controller's work: every device idle, then the occupied ones again.
  const allDevices = Array.from({ length: size.devices }, (_, i) => deviceName(i));
  const occupied = Array.from({ length: size.sessions }, (_, i) => deviceName(sessionDevice(i, size)));
  const deviceTargets = [...allDevices, ...occupied];
  const sessionTargets = Array.from({ length: size.sessions }, (_, i) => sessionName(i));
  const userTargets = users.map((u) => u.metadata?.name ?? '');

  const count = (key: string) => opts.controllerWrites.get(key) ?? 0;
  const planned: WriteCounts = new Map();
  const repeat = (key: string, make: (j: number) => Op): Op[] => {
    const n = count(key);
    if (n > 0) planned.set(key, (planned.get(key) ?? 0) + n);
    return Array.from({ length: n }, (_, j) => make(j));
  };

  const cmOps = repeat('APPLY configmaps', (j) => {
    const device = pick(deviceTargets, j);
    const src = configMaps.get(`${device}-provisioning`);
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${device}-provisioning`,
        namespace: to,
        labels: src?.metadata?.labels ?? {},
        annotations: { ...(src?.metadata?.annotations ?? {}), [SEQ_ANNOTATION]: String(j) },
        ownerReferences: [{ apiVersion: GROUP_VERSION, kind: KINDS.device.kind, name: device, uid: opts.deviceUids.get(device) ?? '', controller: true, blockOwnerDeletion: true }],
      },
      data: src?.data ?? {},
    };
    return () => core.patchNamespacedConfigMap({ name: body.metadata.name, namespace: to, body, ...applyParams }, ssa);
  });
  const statusOp = (plural: string, kind: string, name: string, status: Item['status'], j: number): Op => () => crs.patchNamespacedCustomObjectStatus({
    group: API_GROUP, version: API_VERSION, namespace: to, plural, name,
    body: { apiVersion: GROUP_VERSION, kind, metadata: { name, namespace: to }, status: statusWithSeq(status, j) },
    ...applyParams,
  }, ssa);
  const deviceStatusOps = repeat(`APPLY ${KINDS.device.plural}/status`, (j) => {
    const device = pick(deviceTargets, j);
    return statusOp(KINDS.device.plural, KINDS.device.kind, device, devices.get(device)?.status, j);
  });
  const sessionStatusOps = repeat(`APPLY ${KINDS.session.plural}/status`, (j) => {
    const s = pick(sessionTargets, j);
    return statusOp(KINDS.session.plural, KINDS.session.kind, s, sessions.get(s)?.status, j);
  });
  const userStatusOps = repeat(`APPLY ${KINDS.user.plural}/status`, (j) => {
    const u = pick(userTargets, j);
    return statusOp(KINDS.user.plural, KINDS.user.kind, u, users.find((x) => x.metadata?.name === u)?.status, j);
  });
  const poolStatusOps = repeat(`APPLY ${KINDS.pool.plural}/status`, (j) => statusOp(KINDS.pool.plural, KINDS.pool.kind, POOL, pool?.status, j));
  const finalizerOps = repeat(`PATCH ${KINDS.session.plural}`, (j) => {
    const s = pick(sessionTargets, j);
    // Alternate add/remove past the first round so every patch changes the object.
    const round = Math.floor(j / sessionTargets.length);
    const body = { metadata: { finalizers: round % 2 === 0 ? [SESSION_FINALIZER] : [] } };
    return () => crs.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: to, plural: KINDS.session.plural, name: s, body }, merge);
  });

  // The pool's edge objects, as the controller left them, re-applied with a changing annotation.
  const edge = edgeName(POOL);
  const withSeq = (obj: { metadata?: Meta } & Record<string, unknown>, j: number) => {
    const { status: _s, ...rest } = obj;
    const m = obj.metadata ?? {};
    return { ...rest, metadata: { name: m.name, namespace: to, labels: m.labels, annotations: { ...(m.annotations ?? {}), [SEQ_ANNOTATION]: String(j) } } };
  };
  const clean = <T>(o: T) => JSON.parse(JSON.stringify(o)) as { metadata?: Meta } & Record<string, unknown>;
  const sa = count('APPLY serviceaccounts') ? clean(await core.readNamespacedServiceAccount({ name: edge, namespace: from })) : undefined;
  const role = count('APPLY roles') ? clean(await rbac.readNamespacedRole({ name: edge, namespace: from })) : undefined;
  const binding = count('APPLY rolebindings') ? clean(await rbac.readNamespacedRoleBinding({ name: edge, namespace: from })) : undefined;
  const service = count('APPLY services') ? clean(await core.readNamespacedService({ name: edge, namespace: from })) : undefined;
  const deployment = count('APPLY deployments') ? clean(await apps.readNamespacedDeployment({ name: edge, namespace: from })) : undefined;
  const typed = (o: ({ metadata?: Meta } & Record<string, unknown>) | undefined, apiVersion: string, kind: string) => {
    if (!o) return undefined;
    const spec = o.spec as Record<string, unknown> | undefined;
    // Cluster-assigned fields (clusterIP) are not the controller's to apply.
    const cleanSpec = spec && kind === 'Service' ? Object.fromEntries(Object.entries(spec).filter(([k]) => !['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy', 'sessionAffinity'].includes(k))) : spec;
    return { ...o, apiVersion, kind, ...(cleanSpec ? { spec: cleanSpec } : {}) };
  };
  const edgeOps = [
    ...repeat('APPLY serviceaccounts', (j) => () => core.patchNamespacedServiceAccount({ name: edge, namespace: to, body: withSeq(typed(sa, 'v1', 'ServiceAccount')!, j), ...applyParams }, ssa)),
    ...repeat('APPLY roles', (j) => () => rbac.patchNamespacedRole({ name: edge, namespace: to, body: withSeq(typed(role, 'rbac.authorization.k8s.io/v1', 'Role')!, j), ...applyParams }, ssa)),
    ...repeat('APPLY rolebindings', (j) => () => rbac.patchNamespacedRoleBinding({ name: edge, namespace: to, body: { ...withSeq(typed(binding, 'rbac.authorization.k8s.io/v1', 'RoleBinding')!, j), subjects: [{ kind: 'ServiceAccount', name: edge, namespace: to }] }, ...applyParams }, ssa)),
    ...repeat('APPLY services', (j) => () => core.patchNamespacedService({ name: edge, namespace: to, body: withSeq(typed(service, 'v1', 'Service')!, j), ...applyParams }, ssa)),
    ...repeat('APPLY deployments', (j) => () => apps.patchNamespacedDeployment({ name: edge, namespace: to, body: withSeq(typed(deployment, 'apps/v1', 'Deployment')!, j), ...applyParams }, ssa)),
  ];

  // Events: one create per Event the controller created, by the kind it was about.
  const eventsByKind = new Map<string, CoreV1Event[]>();
  for (const e of events) {
    const kind = e.involvedObject.kind ?? '';
    eventsByKind.set(kind, [...(eventsByKind.get(kind) ?? []), e]);
  }
  const eventOps = (kind: string): Op[] => (eventsByKind.get(kind) ?? []).map((e, j) => () => {
    const now = new Date();
    return core.createNamespacedEvent({
      namespace: to,
      body: {
        metadata: { name: `${e.involvedObject.name ?? 'object'}.raw${j.toString(16)}${Math.random().toString(16).slice(2, 8)}`, namespace: to },
        involvedObject: { ...e.involvedObject, namespace: to, uid: '', resourceVersion: '' },
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        message: e.message ?? '',
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: e.source ?? {},
        reportingComponent: e.reportingComponent ?? '',
        reportingInstance: e.reportingInstance ?? '',
      },
    });
  });
  const postedEvents = events.length;
  if (postedEvents > 0) planned.set('POST events', postedEvents);

  const unmapped: WriteCounts = new Map();
  const known = new Set([
    'APPLY configmaps', `APPLY ${KINDS.device.plural}/status`, `APPLY ${KINDS.session.plural}/status`, `APPLY ${KINDS.user.plural}/status`,
    `APPLY ${KINDS.pool.plural}/status`, `PATCH ${KINDS.session.plural}`, 'APPLY serviceaccounts', 'APPLY roles', 'APPLY rolebindings',
    'APPLY services', 'APPLY deployments', 'POST events',
  ]);
  for (const [k, v] of opts.controllerWrites) if (!known.has(k)) unmapped.set(k, v);

  return {
    lanes: {
      device: interleave(cmOps, deviceStatusOps, eventOps(KINDS.device.kind)),
      session: interleave(finalizerOps, sessionStatusOps, eventOps(KINDS.session.kind)),
      user: interleave(userStatusOps, eventOps(KINDS.user.kind)),
      pool: interleave(edgeOps, poolStatusOps, eventOps(KINDS.pool.kind)),
    },
    planned,
    unmapped,
  };
}

/** a0 b0 c0 a1 b1 c1 …: the order one reconcile after another would write in. */
function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of lists) if (i < l.length) out.push(l[i] as T);
  return out;
}

/** Runs every lane at once, each with its own concurrency; resolves with the wall time in ms. */
export async function runRawWrites(plan: RawPlan, lanes: Lanes): Promise<number> {
  const started = performance.now();
  await Promise.all((Object.keys(plan.lanes) as Lane[]).map((lane) => forEachBounded(plan.lanes[lane], lanes[lane], async (op) => {
    await withRetry(op);
  })));
  return performance.now() - started;
}
