import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { CORE_KINDS, objectPath, collectionPath } from '../../src/runtime/resource.ts';
import { KubeClient, isStatus } from '../../src/runtime/rest.ts';
import { FixtureController, httpGet, metricValue, waitFor } from '../fixtures/runtime/harness.ts';

let cp: ControlPlane;
let client: KubeClient;
const running: FixtureController[] = [];

before(async () => {
  cp = await startControlPlane({ installCrds: false });
  client = new KubeClient(cp.kubeConfig);
});

after(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await cp?.stop();
});

function controller(env: Record<string, string>): FixtureController {
  const c = new FixtureController(cp.kubeconfigPath, env);
  running.push(c);
  return c;
}

interface ConfigMap {
  metadata: { name: string; annotations?: Record<string, string>; resourceVersion?: string };
  data?: Record<string, string>;
}

async function createConfigMap(name: string, label: string, value: string): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(CORE_KINDS.configMap, 'default'),
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { 'runtime-test': label } }, data: { value } },
  });
}

async function readConfigMap(name: string): Promise<ConfigMap | undefined> {
  try {
    return await client.request<ConfigMap>({ method: 'GET', path: objectPath(CORE_KINDS.configMap, 'default', name) });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

async function setValue(name: string, value: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: objectPath(CORE_KINDS.configMap, 'default', name),
    contentType: 'application/merge-patch+json',
    body: { data: { value } },
  });
}

async function waitObserved(name: string, value: string, timeoutMs: number, who?: FixtureController): Promise<ConfigMap> {
  let cm: ConfigMap | undefined;
  await waitFor(
    async () => {
      cm = await readConfigMap(name).catch(() => undefined);
      return cm?.metadata.annotations?.['runtime.test/observed'] === value;
    },
    timeoutMs,
    `${name} reconciled with value ${value}`,
    () => `annotations: ${JSON.stringify(cm?.metadata.annotations)}\n${who?.logTail() ?? ''}`,
  );
  return cm!;
}

async function leaseHolder(name: string): Promise<string | undefined> {
  try {
    const lease = await client.request<{ spec?: { holderIdentity?: string } }>({ method: 'GET', path: objectPath(CORE_KINDS.lease, 'default', name) });
    return lease.spec?.holderIdentity ?? '';
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

test('a failing reconcile is retried with growing delays, and the retries show in /metrics', async () => {
  const base = 150;
  const fails = 5;
  const ctl = controller({ TEST_LABEL: 'retry', FAIL_TIMES: String(fails), BACKOFF_BASE_MS: String(base), CONTROLLER_NAME: 'retrying' });
  await ctl.started();
  await createConfigMap('retry-me', 'retry', 'v1');
  await waitObserved('retry-me', 'v1', 60_000, ctl);

  const starts = ctl.events.filter((e) => e.event === 'reconcile-start' && e.key === 'default/retry-me').map((e) => e.at);
  assert.ok(starts.length >= fails + 1, `expected ${fails + 1} attempts, saw ${starts.length}`);
  const gaps = starts.slice(1, fails + 1).map((t, i) => t - starts[i]!);
  gaps.forEach((gap, i) => assert.ok(gap >= base * 2 ** i - 5, `gap ${i + 1} was ${gap} ms, backoff is ${base * 2 ** i} ms (gaps ${gaps})`));
  assert.ok(gaps.at(-1)! > 4 * gaps[0]!, `gaps grow: ${gaps}`);

  const metrics = await ctl.metrics();
  assert.ok(metricValue(metrics, 'workqueue_retries_total', { name: 'retrying' }) >= fails, metrics);
  assert.equal(metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'retrying' }), fails);
  assert.equal(metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'retrying', result: 'error' }), fails);
  assert.ok(metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'retrying', result: 'success' }) >= 1);
  assert.ok(metricValue(metrics, 'process_resident_memory_bytes') > 0, 'Node process metrics are exported');
  assert.equal((await httpGet(ctl.port, '/healthz')).status, 200);
  assert.equal((await httpGet(ctl.port, '/readyz')).status, 200);

  // The failures show on the object too, as one Warning Event however fast the retries came.
  type EventList = { items: Array<{ type: string; reason: string; message: string; count?: number }> };
  const reconcileErrors = async () => (await client.request<EventList>({
    method: 'GET',
    path: collectionPath(CORE_KINDS.event, 'default'),
    query: { fieldSelector: 'involvedObject.name=retry-me,involvedObject.kind=ConfigMap' },
  })).items.filter((e) => e.reason === 'ReconcileError');
  await waitFor(async () => (await reconcileErrors()).length > 0, 10_000, 'a ReconcileError Event');
  const events = await reconcileErrors();
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0]!.type, 'Warning');
  assert.equal(events[0]!.count ?? 1, 1, `${fails} failures within a minute make one Event`);
  assert.match(events[0]!.message, /retrying reconcile failed, retrying with backoff: planned failure 1 of 5/);
  await ctl.stop();
});

test('1,000 rapid updates of one object cause far fewer reconciles, and the last value is reconciled', async () => {
  const ctl = controller({ TEST_LABEL: 'burst', RECONCILE_DELAY_MS: '20', CONTROLLER_NAME: 'burst' });
  await ctl.started();
  await createConfigMap('burst-me', 'burst', 'start');
  await waitObserved('burst-me', 'start', 30_000, ctl);
  const before = metricValue(await ctl.metrics(), 'controller_runtime_reconcile_total', { controller: 'burst' });

  const updates = 1000;
  let next = 0;
  // Eight writers at once: as fast as this machine lets the API server take them.
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < updates) await setValue('burst-me', `u${next++}`);
  }));
  const final = (await readConfigMap('burst-me'))!.data!.value!;
  await waitObserved('burst-me', final, 60_000, ctl);

  const metrics = await ctl.metrics();
  const reconciles = metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'burst' }) - before;
  assert.ok(reconciles >= 1, 'the updates were reconciled');
  assert.ok(reconciles < updates / 4, `${updates} updates caused ${reconciles} reconciles`);
  assert.equal(metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'burst' }), 0);
  await ctl.stop();
});

test('of two replicas only the lease holder reconciles; when it is killed the standby takes over within the lease duration', async () => {
  const lease = 'runtime-failover';
  const leaseDurationMs = 3_000;
  const common = { TEST_LABEL: 'failover', LEASE_NAME: lease, LEASE_DURATION_MS: String(leaseDurationMs), RENEW_DEADLINE_MS: '2000', RETRY_PERIOD_MS: '500', CONTROLLER_NAME: 'failover' };
  const a = controller({ ...common, IDENTITY: 'replica-a' });
  const b = controller({ ...common, IDENTITY: 'replica-b' });
  await Promise.all([a.started(), b.started()]);
  let holder: string | undefined;
  await waitFor(async () => ['replica-a', 'replica-b'].includes((holder = await leaseHolder(lease)) ?? ''), 30_000, 'a lease holder');
  const [leader, standby] = holder === 'replica-a' ? [a, b] : [b, a];
  const standbyId = holder === 'replica-a' ? 'replica-b' : 'replica-a';

  await createConfigMap('failover-1', 'failover', 'one');
  const cm = await waitObserved('failover-1', 'one', 30_000, leader);
  assert.equal(cm.metadata.annotations?.['runtime.test/reconciled-by'], holder);
  await waitFor(async () => metricValue(await leader.metrics(), 'leader_election_master_status', { name: lease }) === 1, 10_000, 'leader gauge');
  const standbyMetrics = await standby.metrics();
  assert.equal(metricValue(standbyMetrics, 'leader_election_master_status', { name: lease }), 0);
  assert.equal(metricValue(standbyMetrics, 'controller_runtime_reconcile_total', { controller: 'failover' }), 0, 'the standby reconciled nothing');
  assert.equal((await httpGet(standby.port, '/readyz')).status, 200, 'a synced standby is ready');

  leader.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => (await leaseHolder(lease)) === standbyId, leaseDurationMs + 10_000, 'the standby to take the lease', () => standby.logTail());
  const takeoverMs = Date.now() - killedAt;
  assert.ok(takeoverMs <= leaseDurationMs + 4_000, `took over after ${takeoverMs} ms`);

  await createConfigMap('failover-2', 'failover', 'two');
  const second = await waitObserved('failover-2', 'two', 30_000, standby);
  assert.equal(second.metadata.annotations?.['runtime.test/reconciled-by'], standbyId);
  assert.equal(metricValue(await standby.metrics(), 'leader_election_master_status', { name: lease }), 1);
  await standby.stop();
});

test('SIGTERM during a slow reconcile lets it finish, releases the lease and exits 0', async () => {
  const lease = 'runtime-graceful';
  const ctl = controller({ TEST_LABEL: 'graceful', LEASE_NAME: lease, IDENTITY: 'graceful-1', RECONCILE_DELAY_MS: '3000', CONTROLLER_NAME: 'graceful' });
  await ctl.started();
  await waitFor(async () => (await leaseHolder(lease)) === 'graceful-1', 30_000, 'lease acquired');
  await createConfigMap('graceful-1', 'graceful', 'slow');
  await waitFor(() => ctl.events.some((e) => e.event === 'reconcile-start' && e.key === 'default/graceful-1'), 30_000, 'the slow reconcile to start');
  ctl.kill('SIGTERM');
  const exit = await ctl.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, ctl.logTail());
  const cm = await readConfigMap('graceful-1');
  assert.equal(cm?.metadata.annotations?.['runtime.test/observed'], 'slow', 'the in-flight reconcile wrote its result');
  assert.equal(await leaseHolder(lease), '', 'the lease was released');
});

test('after a kube-apiserver restart the watches resume and objects created afterwards are reconciled', async () => {
  if (process.env.HOTDESK_KUBECONFIG) return assert.rejects(cp.restartApiServer(), /existing cluster/);
  const ctl = controller({ TEST_LABEL: 'restart', CONTROLLER_NAME: 'restart', INFORMER_RETRY_MAX_MS: '2000' });
  await ctl.started();
  await createConfigMap('restart-before', 'restart', 'b1');
  await waitObserved('restart-before', 'b1', 30_000, ctl);

  await cp.restartApiServer();
  await createConfigMap('restart-after', 'restart', 'a1');
  await setValue('restart-before', 'b2');
  await waitObserved('restart-after', 'a1', 60_000, ctl);
  await waitObserved('restart-before', 'b2', 60_000, ctl);
  assert.equal((await httpGet(ctl.port, '/readyz')).status, 200);
  await ctl.stop();
});
