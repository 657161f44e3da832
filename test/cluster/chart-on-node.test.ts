import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NODE_IP, startCluster, type Cluster } from '../../src/cluster/cluster.ts';
import { OFFICE_NETNS, OFFICE_PHONE_IP, PBX_IP, startOfficeNetwork, type OfficeNetwork } from '../../src/cluster/office-network.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { startPbx, type Pbx } from './pbx.ts';
import { eventually } from '../support/eventually.ts';

// The operator as shipped, on a one-node cluster whose pods really run: the image built from the
// Dockerfile, the chart's Deployment with its probes, non-root user and read-only root
// filesystem, the controller's Lease, and the edge Deployments the controller makes for pools.

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'hotdesk-system';
const CONTROLLER = 'app.kubernetes.io/name=hotdesk-operator,app.kubernetes.io/component=controller';
const EDGE = 'app.kubernetes.io/component=edge';
const COLD_START_MS = 45 * 60_000;

interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: { containers: Array<{ securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean } }>; securityContext?: { runAsUser?: number } };
  status: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

let cluster: Cluster;
let office: OfficeNetwork | undefined;
let edgeNodePort: number | undefined;
let pbx: Pbx | undefined;

async function kubectl(args: string[], opts: { input?: string; namespace?: string } = {}): Promise<string> {
  const r = await cluster.kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function helm(args: string[]): Promise<string> {
  const r = await cluster.helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function pods(namespace: string, selector: string): Promise<Pod[]> {
  return (JSON.parse(await kubectl(['get', 'pods', '-l', selector, '-o', 'json'], { namespace })) as { items: Pod[] }).items;
}

const ready = (p: Pod) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function leaseHolder(): Promise<string | undefined> {
  const lease = JSON.parse(await kubectl(['get', 'lease', 'hotdesk-operator', '-o', 'json'], { namespace: NS })) as { spec: { holderIdentity?: string } };
  return lease.spec.holderIdentity || undefined;
}

/** Both controller pods Ready, and the Lease held by one of them; returns the pods and the holder. */
async function controllerSettled(): Promise<{ names: string[]; holder: string }> {
  return eventually('two Ready controller pods, one holding the Lease', async () => {
    const running = (await pods(NS, CONTROLLER)).filter((p) => p.status.phase === 'Running');
    if (running.length !== 2 || !running.every(ready)) return undefined;
    const holder = await leaseHolder();
    const names = running.map((p) => p.metadata.name).sort();
    return holder && names.includes(holder) ? { names, holder } : undefined;
  }, 180_000, 1_000);
}

async function sessionUids(): Promise<string[]> {
  const list = JSON.parse(await kubectl(['get', 'hotdesksessions', '-A', '-o', 'json'])) as { items: Array<{ metadata: { uid: string } }> };
  return list.items.map((s) => s.metadata.uid).sort();
}

/** The office phone registers desk-3f-14's idle account through the edge Service's node port. */
async function registerFromOffice(): Promise<{ status: number; reason: string }> {
  const phone = await runCommand('nsenter', [`--net=/run/netns/${OFFICE_NETNS}`, process.execPath, join(REPO_ROOT, 'test/cluster/office-phone.ts'), OFFICE_PHONE_IP, NODE_IP, String(edgeNodePort), 'HD0002', 'example.3cx.eu']);
  assert.equal(phone.code, 0, `phone failed: ${phone.stderr}`);
  return JSON.parse(phone.stdout.trim().split('\n').at(-1) ?? '{}') as { status: number; reason: string };
}

const chartArgs = () => [
  join(REPO_ROOT, 'charts/hotdesk-operator'), '--namespace', NS,
  '--set', `image.repository=${cluster.image.repository}`, '--set', `image.tag=${cluster.image.tag}`, '--set', 'image.pullPolicy=Never',
  '--set', 'networkPolicy.enabled=true', '--wait', '--timeout', '5m',
];

describe('the chart on a one-node cluster', { concurrency: false }, () => {
  before(async () => {
    cluster = await startCluster();
  }, { timeout: COLD_START_MS });

  after(async () => {
    await pbx?.stop();
    await office?.stop();
    await cluster?.stop();
  });

  test('helm install: both controller replicas become Ready, exactly one holds the Lease', async () => {
    await helm(['install', 'hotdesk', ...chartArgs(), '--create-namespace']);
    const { names, holder } = await controllerSettled();
    assert.equal(names.length, 2);
    assert.ok(names.includes(holder));
    // The standby does not hold it: the Lease names one identity, and it is a running pod's.
    assert.equal(names.filter((n) => n === holder).length, 1);
  });

  test('the controller runs as uid 10001 on a read-only root filesystem, with a writable /tmp', async () => {
    const [pod] = await pods(NS, CONTROLLER);
    assert.ok(pod);
    const exec = (...cmd: string[]) => cluster.kubectl(['exec', pod.metadata.name, '--', ...cmd], { namespace: NS });
    assert.equal((await exec('id', '-u')).stdout.trim(), '10001');
    const write = await exec('touch', '/app/written-at-runtime');
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /Read-only file system/);
    assert.equal((await exec('touch', '/tmp/scratch')).code, 0);
  });

  test('kubectl apply -k config/samples: the controller makes edge Deployments that become Available', async () => {
    await kubectl(['apply', '-k', join(REPO_ROOT, 'config/samples')]);
    const pools = (JSON.parse(await kubectl(['get', 'hotdeskpools', '-o', 'json'])) as { items: unknown[] }).items.length;
    assert.ok(pools >= 1);
    const deployments = await eventually('an edge Deployment per pool', async () => {
      const list = JSON.parse(await kubectl(['get', 'deployments', '-l', EDGE, '-o', 'json'])) as { items: Array<{ metadata: { name: string } }> };
      return list.items.length === pools ? list.items.map((d) => d.metadata.name) : undefined;
    }, 60_000, 1_000);
    await kubectl(['wait', '--for=condition=Available', '--timeout=300s', ...deployments.map((d) => `deployment/${d}`)]);
    // The pools report it too: Ready once their edge pods are.
    await eventually('every pool Ready', async () => {
      const list = JSON.parse(await kubectl(['get', 'hotdeskpools', '-o', 'json'])) as { items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> };
      return list.items.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000, 1_000);
    // Settled: every edge Deployment has all its replicas updated and Ready (a pool's change rolls them).
    await eventually('every edge replica updated and Ready', async () => {
      const list = JSON.parse(await kubectl(['get', 'deployments', '-l', EDGE, '-o', 'json'])) as { items: Array<{ spec: { replicas: number }; status: { readyReplicas?: number; updatedReplicas?: number; replicas?: number } }> };
      return list.items.every((d) => d.status.readyReplicas === d.spec.replicas && d.status.updatedReplicas === d.spec.replicas && d.status.replicas === d.spec.replicas);
    }, 180_000, 1_000);
    const edgePods = (await pods('default', EDGE)).filter((p) => p.status.phase === 'Running');
    assert.ok(edgePods.length >= pools, `${edgePods.length} edge pods running for ${pools} pools`);
  });

  test('helm upgrade rolls the controller pods and loses no session', async () => {
    const before = await controllerSettled();
    const sessions = await sessionUids();
    assert.ok(sessions.length >= 1, 'the samples bring a session');
    await helm(['upgrade', 'hotdesk', ...chartArgs(), '--set-string', `podAnnotations.rolled-at=${Date.now()}`]);
    const afterUpgrade = await controllerSettled();
    assert.equal(afterUpgrade.names.filter((n) => before.names.includes(n)).length, 0, 'every controller pod was replaced');
    assert.deepEqual(await sessionUids(), sessions);
  });

  test('helm uninstall keeps the CRDs and the sessions', async () => {
    const sessions = await sessionUids();
    await helm(['uninstall', 'hotdesk', '--namespace', NS, '--wait', '--timeout', '2m']);
    await eventually('the controller pods gone', async () => (await pods(NS, CONTROLLER)).length === 0, 120_000, 1_000);
    const crds = await kubectl(['get', 'crds', '-o', 'name']);
    for (const kind of ['hotdeskpools', 'hotdeskusers', 'hotdeskdevices', 'hotdesksessions']) assert.match(crds, new RegExp(`${kind}\\.hotdesk\\.io`));
    assert.deepEqual(await sessionUids(), sessions);
  });

  test('kubectl apply -k config/default runs the operator from the shipped manifests', async () => {
    // config/default names the released image; the node has it under that name, as a registry would.
    const kustomization = await kubectl(['kustomize', join(REPO_ROOT, 'config/default')]);
    const images = [...new Set([...kustomization.matchAll(/(?:image:|value:)\s+(\S+\/hotdesk-operator:\S+)/g)].map((m) => m[1] as string))];
    assert.ok(images.length >= 1, 'config/default names an image');
    for (const image of images) await cluster.tagImage(image);
    await kubectl(['apply', '-k', join(REPO_ROOT, 'config/default')]);
    await kubectl(['rollout', 'status', 'deployment/hotdesk-operator', '--timeout=300s'], { namespace: NS });
    const { holder } = await controllerSettled();
    assert.ok(holder);
  });

  test('a desk phone behind an office NAT registers through the edge Service to a Kamailio PBX', async () => {
    office = await startOfficeNetwork();
    pbx = await startPbx();
    const pool = 'london-office';
    await kubectl(['patch', 'hotdeskpool', pool, '--type=merge', '-p', JSON.stringify({ spec: { pbx: { host: PBX_IP, port: 5060, transport: 'udp' } } })]);
    const selector = `${EDGE},hotdesk.io/pool=${pool}`;
    const deployment = (await kubectl(['get', 'deployments', '-l', selector, '-o', 'name'])).trim();
    assert.ok(deployment, `no edge Deployment for ${pool}`);
    // The pool's PBX is part of the edge's configuration: its pods roll to the new one.
    await eventually('the edge rolled to the new PBX', async () => {
      const d = JSON.parse(await kubectl(['get', deployment, '-o', 'json'])) as { metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; updatedReplicas?: number; readyReplicas?: number; replicas?: number } };
      const podsNow = await pods('default', selector);
      return d.status.observedGeneration === d.metadata.generation && d.status.updatedReplicas === d.spec.replicas && d.status.readyReplicas === d.spec.replicas && podsNow.length === d.spec.replicas;
    }, 240_000, 1_000);
    const service = JSON.parse(await kubectl(['get', 'services', '-l', selector, '-o', 'json'])) as { items: Array<{ spec: { ports: Array<{ name: string; protocol: string; nodePort?: number }> } }> };
    const nodePort = service.items[0]?.spec.ports.find((p) => p.protocol === 'UDP')?.nodePort;
    assert.ok(nodePort, 'the edge Service has a UDP node port');

    edgeNodePort = nodePort;
    assert.deepEqual(await registerFromOffice(), { status: 200, reason: 'OK' }, pbx.log());
    assert.match(pbx.log(), /PBX got REGISTER sip:example\.3cx\.eu from sip:HD0002@example\.3cx\.eu/);
    // The edge records where the desk registered from.
    await eventually('desk-3f-14 shows its registration', async () => {
      const device = JSON.parse(await kubectl(['get', 'hotdeskdevice', 'desk-3f-14', '-o', 'json'])) as { status?: { registration?: { identity?: string } } };
      return device.status?.registration?.identity === 'HD0002';
    }, 30_000, 500);
  });

  test('deleting an edge pod: the phone registers again through the Service, and no session is lost', async () => {
    assert.ok(edgeNodePort, 'the previous test found the edge Service');
    const selector = `${EDGE},hotdesk.io/pool=london-office`;
    const sessions = await sessionUids();
    const [victim] = await pods('default', selector);
    assert.ok(victim);
    await kubectl(['delete', 'pod', victim.metadata.name, '--wait=true']);
    await eventually('the edge back at full strength', async () => {
      const now = (await pods('default', selector)).filter((p) => p.status.phase === 'Running');
      return now.length === 2 && now.every(ready) && !now.some((p) => p.metadata.name === victim.metadata.name);
    }, 180_000, 1_000);
    // Whichever pod the Service picks, the phone gets through.
    for (let i = 0; i < 3; i++) assert.deepEqual(await registerFromOffice(), { status: 200, reason: 'OK' }, pbx?.log());
    assert.deepEqual(await sessionUids(), sessions);
  });
});
