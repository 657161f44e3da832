// Two controllers started exactly as the chart and kustomize start them: the container's args and
// env from the rendered Deployment (downward-API fields filled as the kubelet would), the image's
// own ENV, each in a network namespace of its own as in a pod. The only addition is KUBECONFIG,
// standing in for the service account a pod gets mounted. Nothing else: no lease timings.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { eventually } from '../support/eventually.ts';
import { createPodNetwork, type PodNetwork } from '../support/pod-network.ts';
import { deviceYaml, namespaceYaml, poolYaml } from '../controller/manifests.ts';
import { at, cleanUpHelm, findOne, mustSucceed, parseManifests, readRepoFile, renderChart, REPO_ROOT, type Manifest } from './tools.ts';

const LEASE = 'hotdesk-operator';
const METRICS_PORT = 8080; // the chart's containerPort, which the controller binds by default

interface Pod {
  name: string;
  net: PodNetwork;
  process: ChildProcess;
  log: string[];
}

let cp: ControlPlane;
const networks: PodNetwork[] = [];
const pods: Pod[] = [];

/** The final stage's ENV of the Dockerfile: what the image adds to every container's environment. */
function imageEnv(): Record<string, string> {
  const stages = readRepoFile('Dockerfile').replace(/\\\n/g, ' ').split(/^FROM /m);
  const env: Record<string, string> = {};
  for (const line of (stages.at(-1) ?? '').split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The container's env as the kubelet resolves it for a pod named podName in namespace. */
function podEnv(container: any, podName: string, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]) {
    if (e.valueFrom?.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      if (path === 'metadata.name') env[e.name] = podName;
      else if (path === 'metadata.namespace') env[e.name] = namespace;
      else throw new Error(`the test does not resolve fieldRef ${path} yet`);
    } else if (e.valueFrom) {
      throw new Error(`env ${e.name}: the test does not resolve ${JSON.stringify(e.valueFrom)} yet`);
    } else {
      env[e.name] = e.value ?? '';
    }
  }
  return env;
}

async function startPod(deployment: Manifest, podName: string, net: PodNetwork): Promise<Pod> {
  const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
  const namespace = deployment.metadata.namespace ?? 'default';
  const env = { ...imageEnv(), ...podEnv(container, podName, namespace), KUBECONFIG: cp.kubeconfigPath, PATH: process.env.PATH ?? '' };
  const child = net.spawn(process.execPath, container.args as string[], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pod: Pod = { name: podName, net, process: child, log: [] };
  const keep = (chunk: Buffer) => pod.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  pods.push(pod);
  return pod;
}

async function leaderGauge(pod: Pod): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${pod.net.podIp}:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const m = /^leader_election_master_status\{name="hotdesk-operator"\} (\d)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface LeaseView {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

async function lease(namespace: string): Promise<LeaseView | undefined> {
  const r = await cp.kubectl(['get', 'lease', LEASE, '-o', 'json'], { namespace });
  return r.code === 0 ? (JSON.parse(r.stdout).spec as LeaseView) : undefined;
}

async function apply(yaml: string): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function provisioningRendered(ns: string, device: string): Promise<boolean> {
  return (await cp.kubectl(['get', 'configmap', `${device}-provisioning`], { namespace: ns })).code === 0;
}

function killPod(pod: Pod): Promise<void> {
  const exited = new Promise<void>((resolve) => pod.process.once('exit', () => resolve()));
  pod.process.kill('SIGKILL');
  return exited;
}

function terminatePod(pod: Pod): Promise<void> {
  const exited = new Promise<void>((resolve) => pod.process.once('exit', () => resolve()));
  pod.process.kill('SIGTERM');
  return exited;
}

function countLines(pod: Pod, pattern: RegExp): number {
  return pod.log.filter((l) => pattern.test(l)).length;
}

before(async () => {
  cp = await startControlPlane();
});

after(async () => {
  for (const pod of pods) if (pod.process.exitCode === null && pod.process.signalCode === null) await killPod(pod);
  for (const net of networks) await net.destroy();
  cleanUpHelm();
  await cp?.stop();
});

async function twoPods(deployment: Manifest, names: [string, string]): Promise<[Pod, Pod]> {
  const namespace = deployment.metadata.namespace ?? 'default';
  await apply(namespaceYaml(namespace));
  const server = new URL(cp.server);
  const nets = await Promise.all([createPodNetwork(server), createPodNetwork(server)]);
  networks.push(...nets);
  return [await startPod(deployment, names[0], nets[0]), await startPod(deployment, names[1], nets[1])];
}

/** Fails with the pods' own logs, so a failure shows what each controller did. */
async function withPodLogs<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const logs = pods.map((p) => `--- ${p.name} (${p.net.podIp}) ---\n${p.log.slice(-30).join('\n')}`).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
}

async function oneLeader(namespace: string, candidates: Pod[]): Promise<{ leader: Pod; standby: Pod[] }> {
  return withPodLogs(eventually('exactly one leader, holding the Lease', async () => {
    const spec = await lease(namespace);
    const gauges = await Promise.all(candidates.map(leaderGauge));
    if (gauges.some((g) => g === undefined)) return undefined;
    const leaders = candidates.filter((_p, i) => gauges[i] === 1);
    if (leaders.length !== 1 || spec?.holderIdentity !== leaders[0]!.name) return undefined;
    return { leader: leaders[0]!, standby: candidates.filter((p) => p !== leaders[0]) };
  }, 120_000, 250));
}

describe('leader election as the chart ships it', () => {
  let deployment: Manifest;
  let namespace: string;

  before(async () => {
    deployment = findOne(await renderChart([], { release: 'hotdesk', namespace: 'hotdesk-system' }), 'Deployment');
    namespace = deployment.metadata.namespace ?? 'hotdesk-system';
  });

  test('one leader, a Lease with its duration, failover after SIGKILL, and a cut-off leader steps down before its lease expires', async () => {
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
    const shippedEnv = podEnv(container, 'x', namespace);
    assert.equal(shippedEnv.HOTDESK_LEADER_ELECT, 'true', 'the chart elects a leader');
    for (const name of Object.keys(shippedEnv)) assert.doesNotMatch(name, /^HOTDESK_LEASE_/, 'the test runs the default timings');

    const [a, b] = await twoPods(deployment, ['hotdesk-hotdesk-operator-7c9d-a1', 'hotdesk-hotdesk-operator-7c9d-b2']);
    const { leader, standby } = await oneLeader(namespace, [a, b]);
    const first = await lease(namespace);
    assert.equal(first?.leaseDurationSeconds, 15, 'the Lease carries the default 15 s duration');

    // Stable: no flapping over several renew periods.
    await new Promise((r) => setTimeout(r, 6_000));
    const later = await lease(namespace);
    assert.equal(later?.holderIdentity, leader.name);
    assert.equal(later?.leaseTransitions, first?.leaseTransitions, 'no leadership changes while both run');
    assert.equal(await leaderGauge(standby[0]!), 0);
    for (const pod of [a, b]) {
      assert.equal(countLines(pod, /became leader/), pod === leader ? 1 : 0, `${pod.name} became leader ${pod === leader ? 'once' : 'never'}`);
      assert.equal(countLines(pod, /TimeoutNaNWarning|NaN/), 0, `${pod.name} logged no NaN timeout`);
    }

    // SIGKILL the leader: it cannot release the lease, so the standby waits for it to expire.
    const ns = 'failover';
    await apply(namespaceYaml(ns));
    await apply(poolYaml(ns, 'office'));
    const killedAt = Date.now();
    await killPod(leader);
    await apply(deviceYaml(ns, 'desk-after-kill', 'office', '00156500f001', 'HD0901', 'idle-Secret-Pw9'));
    const successor = standby[0]!;
    await eventually('the standby renders a device created after the kill', () => provisioningRendered(ns, 'desk-after-kill'), 60_000, 200);
    const failoverMs = Date.now() - killedAt;
    assert.ok(failoverMs <= 15_000 + 5_000, `new object reconciled ${failoverMs} ms after the kill (lease 15 s + 5 s)`);
    assert.equal(await leaderGauge(successor), 1);
    assert.equal((await lease(namespace))?.holderIdentity, successor.name);

    // The killed pod comes back (as the kubelet would restart it) and stands by.
    const restarted = await startPod(deployment, leader.name.replace(/-a1$/, '-c3'), leader.net);
    await eventually('the restarted pod serves metrics as a standby', async () => (await leaderGauge(restarted)) === 0, 60_000, 250);

    // Partition the leader from the API server: it must stop working before anyone may take over.
    const renewBefore = (await lease(namespace))?.renewTime;
    successor.net.cutApiServer();
    const cutAt = Date.now();
    await eventually('the cut-off leader steps down', async () => (await leaderGauge(successor)) === 0, 30_000, 100);
    const steppedDownAt = Date.now();
    const atStepDown = await lease(namespace);
    assert.equal(atStepDown?.holderIdentity, successor.name, 'nobody else took the lease while the cut-off leader still led');
    const lastRenew = Date.parse(atStepDown?.renewTime ?? renewBefore ?? '');
    assert.ok(Number.isFinite(lastRenew), 'the lease has a renewTime');
    assert.ok(steppedDownAt < lastRenew + 15_000, `stepped down ${steppedDownAt - lastRenew} ms after its last renewal, before the 15 s lease could expire`);
    assert.ok(steppedDownAt - cutAt < 15_000, `stepped down ${steppedDownAt - cutAt} ms after the cut (last renewal ${lastRenew - cutAt} ms from the cut)`);
    assert.match(successor.log.join('\n'), /failed to renew the lease in time; stepping down/);

    // Only after the lease expired does the restarted pod lead, and it reconciles.
    await apply(deviceYaml(ns, 'desk-after-cut', 'office', '00156500f002', 'HD0902', 'idle-Secret-Pw8'));
    await eventually('the other pod takes over and renders a new device', () => provisioningRendered(ns, 'desk-after-cut'), 60_000, 200);
    const takeover = await lease(namespace);
    assert.equal(takeover?.holderIdentity, restarted.name);
    assert.ok(Date.parse(takeover?.acquireTime ?? '') >= lastRenew + 15_000, 'the new leader took the lease only after it expired');
    successor.net.restoreApiServer();
    await eventually('the partitioned pod, healed, stands by', async () => (await leaderGauge(successor)) === 0 && (await leaderGauge(restarted)) === 1, 30_000, 250);

    // A graceful stop (SIGTERM, as at a rollout) hands the lease back at once.
    await Promise.all([terminatePod(successor), terminatePod(restarted)]);
    assert.equal((await lease(namespace))?.holderIdentity ?? '', '', 'the leader released the Lease on SIGTERM');
  });
});

describe('leader election as kustomize ships it', () => {
  test('two replicas from config/default: one leader, with the default lease duration, stable', async () => {
    const kubectl = join(cp.binDir, 'kubectl');
    const objects = parseManifests(mustSucceed('kustomize config/default', await runCommand(kubectl, ['kustomize', join(REPO_ROOT, 'config/default')])));
    const deployment = findOne(objects, 'Deployment');
    const namespace = deployment.metadata.namespace ?? 'default';
    const [a, b] = await twoPods(deployment, ['hotdesk-controller-5f6b-x1', 'hotdesk-controller-5f6b-y2']);
    const { leader } = await oneLeader(namespace, [a, b]);
    const first = await lease(namespace);
    assert.equal(first?.leaseDurationSeconds, 15);
    await new Promise((r) => setTimeout(r, 5_000));
    const later = await lease(namespace);
    assert.equal(later?.holderIdentity, leader.name);
    assert.equal(later?.leaseTransitions, first?.leaseTransitions);
    await Promise.all([killPod(a), killPod(b)]);
  });
});
