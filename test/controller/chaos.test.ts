import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { createController } from '../../src/controller/controller.ts';
import { HOTDESK_KINDS } from '../../src/api/kinds.ts';
import { ANNOTATION_REVISION } from '../../src/api/labels.ts';
import { Registry } from 'prom-client';
import type { HotDeskContext } from '../../src/controller/context.ts';
import { DomainMetrics } from '../../src/controller/domain-metrics.ts';
import { reconcileSession } from '../../src/controller/session-reconciler.ts';
import { WriteMemo } from '../../src/controller/write-memo.ts';
import { Claims, deviceClaims, userClaims } from '../../src/api/conflicts.ts';
import { SESSION_FINALIZER } from '../../src/api/labels.ts';
import { createLogger } from '../../src/log.ts';
import { collectionPath, CORE_KINDS, EventRecorder, Informer, isStatus, KubeClient, objectPath, type KindDescriptor, type KubeObject, type Manager } from '../../src/runtime/index.ts';
import { eventually } from '../support/eventually.ts';
import { SecretLabelCache } from '../../src/controller/secret-labels.ts';
import { deviceYaml, namespaceYaml, poolYaml, userYaml } from './manifests.ts';

const NS = 'chaos';
const DESKS = 75;
/** The restart begins once this many desks and their sessions exist; the rest are created through it. */
const RESTART_AFTER = 20;

let cp: ControlPlane;
let mgr: Manager;
let client: KubeClient;

const pad = (i: number) => String(i).padStart(3, '0');

before(async () => {
  cp = await startControlPlane();
  client = new KubeClient(cp.kubeConfig);
  // No grace for missing devices: a refusal can then only be avoided by reading the API server
  // itself when the cache lacks a device, which is what this test is about.
  mgr = createController({ kubeConfig: cp.kubeConfig, namespace: NS, leaderElection: false, server: { host: '127.0.0.1', port: 0 }, missingReferenceGraceMs: 0 });
  await mgr.start();
});

after(async () => {
  await mgr?.stop();
  await cp?.stop();
});

/** Creates obj, retrying through the outage; AlreadyExists means an earlier attempt got through. */
async function create(kind: KindDescriptor, obj: KubeObject): Promise<void> {
  for (;;) {
    try {
      await client.request({ method: 'POST', path: collectionPath(kind, obj.metadata?.namespace ?? NS), body: obj, timeoutMs: 10_000 });
      return;
    } catch (err) {
      if (isStatus(err, 409)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const device = (i: number): KubeObject => ({
  apiVersion: 'hotdesk.io/v1alpha1',
  kind: 'HotDeskDevice',
  metadata: { name: `d${pad(i)}`, namespace: NS },
  spec: {
    mac: `0015650c0${pad(i)}`,
    vendor: 'yealink',
    model: 'T54W',
    pool: 'office',
    location: `desk ${i}`,
    idleIdentity: { username: `HD${pad(i)}`, displayName: `Hot desk ${i}`, secretRef: { name: 'idle-accounts', passwordKey: `HD${pad(i)}` } },
  },
});

const session = (i: number): KubeObject => ({
  apiVersion: 'hotdesk.io/v1alpha1',
  kind: 'HotDeskSession',
  metadata: { name: `s${pad(i)}`, namespace: NS },
  spec: { device: `d${pad(i)}`, user: `u${pad(i)}`, origin: 'booking' },
});

async function list<T>(kind: KindDescriptor): Promise<T[]> {
  return (await client.request<{ items: T[] }>({ method: 'GET', path: collectionPath(kind, NS) })).items;
}

test('a device cache behind the API server never refuses a login: the session waits until the cache has the device', async () => {
  // The controller's caches as they are after an outage when the session watch has resumed and
  // the device watch has not: the device informer is simply not started yet.
  const ns = 'lagging';
  const applied = await cp.kubectl(['apply', '-f', '-'], {
    input: [namespaceYaml(ns), poolYaml(ns, 'office'), userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'), deviceYaml(ns, 'desk-1', 'office', '00156500d001', 'HD0001', 'idle-Secret-Pw1')].join('---\n'),
  });
  assert.equal(applied.code, 0, applied.stderr);
  await create(HOTDESK_KINDS.session, { apiVersion: 'hotdesk.io/v1alpha1', kind: 'HotDeskSession', metadata: { name: 's1', namespace: ns, finalizers: [SESSION_FINALIZER], labels: { 'hotdesk.io/pool': 'office' } }, spec: { device: 'desk-1', user: 'alice', origin: 'admin' } });

  const informer = <T extends KubeObject>(kind: KindDescriptor) => new Informer<T>(client, { kind, namespace: ns, resyncPeriodMs: 0 });
  const caches = {
    pools: informer<any>(HOTDESK_KINDS.pool),
    users: informer<any>(HOTDESK_KINDS.user),
    devices: informer<any>(HOTDESK_KINDS.device),
    sessions: informer<any>(HOTDESK_KINDS.session),
    provisioning: informer(CORE_KINDS.configMap),
    deployments: informer(CORE_KINDS.deployment),
  };
  const logger = createLogger('lagging-cache-test');
  const caught = [caches.pools, caches.users, caches.sessions, caches.provisioning, caches.deployments];
  for (const c of caught) c.start();
  const ctx: HotDeskContext = {
    client,
    recorder: new EventRecorder({ client, component: 'lagging-cache-test' }),
    metrics: new DomainMetrics(new Registry(), { devices: () => [], sessions: () => [], poolOfSession: () => undefined }),
    logger,
    now: () => new Date(),
    edgeImage: 'unused',
    statusWrites: new WriteMemo(),
    secretLabels: new SecretLabelCache(client),
    caches,
    claims: { devices: new Claims<any>(deviceClaims), users: new Claims<any>(userClaims) },
  };
  const run = { namespace: ns, name: 's1', signal: new AbortController().signal, client, logger };
  const phase = async () => (await client.request<{ status?: { phase?: string } }>({ method: 'GET', path: objectPath(HOTDESK_KINDS.session, ns, 's1') })).status?.phase;
  try {
    await Promise.all(caught.map((c) => c.waitForSync()));
    await eventually('s1 in the session cache', () => caches.sessions.get(ns, 's1'));
    // Without a grace period, only the live read stands between this login and a refusal.
    assert.deepEqual(await reconcileSession(ctx, run, { missingGraceMs: 0 }), { requeueAfter: 1_000 });
    assert.equal(await phase(), undefined, 'nothing was written while the cache lacked the device');

    caches.devices.start();
    await caches.devices.waitForSync();
    await reconcileSession(ctx, run, { missingGraceMs: 0 });
    assert.equal(await phase(), 'Active');
  } finally {
    await Promise.all(Object.values(caches).map((c) => c.stop()));
  }
});

test('a kube-apiserver restart in the middle of creating 75 desks and their logins: no login refused, no object missed', async () => {
  if (process.env.HOTDESK_KUBECONFIG) return assert.rejects(cp.restartApiServer(), /existing cluster/);
  await cp.kubectl(['apply', '-f', '-'], { input: namespaceYaml(NS) });
  const users = Array.from({ length: DESKS }, (_, k) => userYaml(NS, `u${pad(k + 1)}`, 'office', String(200 + k + 1), `pw-${k + 1}-Secret`, '4821'));
  // The desks' idle accounts, opted in to the pool (a device naming a missing Secret is in Error).
  const idleAccounts = `apiVersion: v1\nkind: Secret\nmetadata: {name: idle-accounts, namespace: ${NS}, labels: {hotdesk.io/pool: office}}\nstringData: {${Array.from({ length: DESKS }, (_, k) => `HD${pad(k + 1)}: idle-${k + 1}`).join(', ')}}\n`;
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: [poolYaml(NS, 'office'), idleAccounts, ...users].join('---\n') });
  assert.equal(applied.code, 0, applied.stderr);

  let restart: Promise<void> | undefined;
  for (let i = 1; i <= DESKS; i++) {
    // The restart (SIGTERM, then a new kube-apiserver on the same etcd) runs beside the creation.
    if (i === RESTART_AFTER + 1) restart = cp.restartApiServer();
    await create(HOTDESK_KINDS.device, device(i));
    await create(HOTDESK_KINDS.session, session(i));
  }
  await restart;

  type Session = { metadata: { name: string }; status?: { phase?: string; endReason?: string; message?: string } };
  type Device = { metadata: { name: string }; status?: { phase?: string; configRevision?: string; occupant?: { session?: string } } };
  let settled: { sessions: Session[]; devices: Device[] } | undefined;
  let seen = '';
  const deadline = Date.now() + 180_000;
  while (!settled) {
    assert.ok(Date.now() < deadline, `not settled after 180 s: ${seen}`);
    const sessions = await list<Session>(HOTDESK_KINDS.session);
    const devices = await list<Device>(HOTDESK_KINDS.device);
    // A refusal is final: fail at once rather than wait for the deadline.
    const finished = sessions.filter((s) => s.status?.phase === 'Refused' || s.status?.phase === 'Ended');
    assert.deepEqual(finished.map((s) => `${s.metadata.name}: ${s.status?.phase} ${s.status?.message}`), [], 'no login refused or ended');
    const active = sessions.filter((s) => s.status?.phase === 'Active').length;
    const occupied = devices.filter((d) => d.status?.phase === 'Occupied' && d.status.occupant?.session === `s${d.metadata.name.slice(1)}`).length;
    seen = `${sessions.length} sessions, ${active} Active; ${devices.length} devices, ${occupied} carrying their occupant`;
    if (active === DESKS && occupied === DESKS) settled = { sessions, devices };
    else await new Promise((r) => setTimeout(r, 1_000));
  }
  assert.equal(settled.sessions.length, DESKS);

  // Rendered means written: every desk's ConfigMap carries the revision its status reports.
  const maps = new Map((await list<{ metadata: { name: string; annotations?: Record<string, string> } }>(CORE_KINDS.configMap)).map((m) => [m.metadata.name, m]));
  for (const d of settled.devices) {
    const cm = maps.get(`${d.metadata.name}-provisioning`);
    assert.ok(cm, `${d.metadata.name} has its ConfigMap`);
    assert.equal(cm.metadata.annotations?.[ANNOTATION_REVISION], d.status?.configRevision, `${d.metadata.name}'s ConfigMap is the revision its status reports`);
  }
});
