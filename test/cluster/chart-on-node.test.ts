import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLUSTER_NETNS, NODE_IP, startCluster, type Cluster } from '../../src/cluster/cluster.ts';
import { OFFICE_NETNS, OFFICE_PHONE_IP, PBX_IP, PBX_NETNS, startOfficeNetwork, type OfficeNetwork } from '../../src/cluster/office-network.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { CALLEE_NUMBER, CALLER_NUMBER, callFromPbx, registerCaller, startCallee, startPbx, type Pbx } from './pbx.ts';
import { startDeskPhone, type DeskPhone } from './desk-phone.ts';
import { explainedBy, startPacketTrace, type PacketTrace } from './packet-trace.ts';
import { eventually } from '../support/eventually.ts';
import { killAllSipp } from '../e2e/sipp.ts';

// The operator as shipped, on a one-node cluster whose pods really run: the image built from the
// Dockerfile, the chart's Deployment with its probes, non-root user and read-only root
// filesystem, the controller's Lease, and the edge Deployments the controller makes for pools.
// Then a desk phone on an office LAN behind NAT uses the edge through its NodePort Service as a
// phone outside the cluster does: registers, logs in by PIN over RTP, is told to re-sync, fetches
// its file, calls the PBX, and goes on working after its edge pod is replaced. Calls from the PBX
// ring it through the edge on its NAT flow until its user logs out; a second phone does the same
// over TCP; and last the phone logs in through a LoadBalancer Service's address.

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
let pbx: Pbx | undefined;
let phone: DeskPhone | undefined;
/** Desk 3F-12's phone, over TCP: Alice sits there (the samples' admin session). */
let tcpPhone: DeskPhone | undefined;
/** Desk 3F-14's phone once more, pointed at the LoadBalancer's address. */
let lbPhone: DeskPhone | undefined;
let bobSession: string | undefined;
const traces: PacketTrace[] = [];

// The pool the office phone uses, as an operator sets it for phones outside the cluster on a
// NodePort Service: ports inside the node-port range (each is its own node port, so what the edge
// advertises is what the node answers on) and the node's address as the advertised host. One
// replica: kube-proxy keeps a client on one pod per Service port, not across ports, so with two
// the phone's RTP to the IVR could reach the pod that did not answer its call (see README).
const POOL = 'london-office';
const POOL_EDGE = `${EDGE},hotdesk.io/pool=${POOL}`;
const OFFICE_EDGE = { serviceType: 'NodePort', replicas: 1, advertisedHost: NODE_IP, sipPort: 30060, httpPort: 30080, rtpPorts: { first: 30100, count: 4 } };
const BOB_PIN = '1357';
const DESK_MAC = 'c074ad0102a3';
const DESK_PROVISIONING_PASSWORD = 'sample-only-prov-3f-14';
/** The address this test, as the load-balancer controller, publishes for a LoadBalancer Service and routes to the node. */
const LOAD_BALANCER_IP = '10.47.0.10';
const FLOW_TOKEN = '[A-Za-z0-9_-]{8,}';
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

async function registration(desk = 'desk-3f-14'): Promise<{ identity?: string; contact?: string } | undefined> {
  const device = JSON.parse(await kubectl(['get', 'hotdeskdevice', desk, '-o', 'json'])) as { status?: { registration?: { identity?: string; contact?: string } } };
  return device.status?.registration;
}

async function patchPool(spec: object): Promise<void> {
  await kubectl(['patch', 'hotdeskpool', POOL, '--type=merge', '-p', JSON.stringify({ spec })]);
}

/** The pool's edge Deployment has rolled to its latest spec: every replica updated, Ready and running. */
async function edgeRolledOut(): Promise<void> {
  const deployment = (await kubectl(['get', 'deployments', '-l', POOL_EDGE, '-o', 'name'])).trim();
  assert.ok(deployment, `no edge Deployment for ${POOL}`);
  await eventually('the edge rolled to the pool\'s new settings', async () => {
    const d = JSON.parse(await kubectl(['get', deployment, '-o', 'json'])) as { metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; updatedReplicas?: number; readyReplicas?: number; replicas?: number } };
    const podsNow = (await pods('default', POOL_EDGE)).filter((p) => p.status.phase === 'Running');
    return d.spec.replicas === OFFICE_EDGE.replicas && d.status.observedGeneration === d.metadata.generation && d.status.updatedReplicas === d.spec.replicas && d.status.readyReplicas === d.spec.replicas && d.status.replicas === d.spec.replicas && podsNow.length === d.spec.replicas;
  }, 240_000, 1_000);
}

interface EdgeService {
  metadata: { name: string };
  spec: { type: string; externalTrafficPolicy?: string; healthCheckNodePort?: number; ports: Array<{ name: string; port: number; nodePort?: number }> };
}

async function edgeService(): Promise<EdgeService> {
  const list = JSON.parse(await kubectl(['get', 'services', '-l', POOL_EDGE, '-o', 'json'])) as { items: EdgeService[] };
  assert.equal(list.items.length, 1, `one edge Service for ${POOL}`);
  return list.items[0]!;
}

/** curl --digest from the office LAN to the edge's HTTP port on the node, as the phone fetches its file. */
async function fetchFromOffice(file: string, credentials: string): Promise<{ status: string; body: string }> {
  const r = await runCommand('nsenter', [`--net=/run/netns/${OFFICE_NETNS}`, 'curl', '-sS', '--max-time', '10', '--digest', '-u', credentials, '-w', '\n%{http_code}', `http://${NODE_IP}:${OFFICE_EDGE.httpPort}/${file}`]);
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: r.stdout.slice(cut + 1), body: r.stdout.slice(0, cut) };
}

/**
 * What the node's conntrack holds for the edge's SIP port (how kube-proxy's NAT rewrote each flow)
 * and the edge pods' log: read when a case failed, to go with its traces.
 */
async function nodeSideOfFailure(): Promise<string> {
  const conntrack = await cluster.inNetns('conntrack', ['-L', '-p', 'udp']);
  const sipFlows = conntrack.stdout.split('\n').filter((l) => l.includes(`port=${OFFICE_EDGE.sipPort} `)).join('\n');
  const logs = await cluster.kubectl(['logs', '-l', POOL_EDGE, '--tail=80', '--prefix']);
  return `--- node conntrack, UDP flows of port ${OFFICE_EDGE.sipPort} ---\n${sipFlows || conntrack.stderr}\n--- edge pods' log ---\n${logs.stdout}${logs.stderr}`;
}

/** Runs a case; when it fails, the phones' packet traces and stderr, the node's side and the PBX's log come with the error. */
function explained<T>(body: () => Promise<T>): Promise<T> {
  const phones = [['office phone', phone], ['TCP phone', tcpPhone], ['office phone through the LoadBalancer', lbPhone]] as const;
  let nodeSide = '';
  return explainedBy(() => [
    ...traces.map((t) => t.text()),
    ...phones.filter(([, p]) => p !== undefined).map(([name, p]) => `--- ${name} stderr ---\n${p!.log()}`),
    nodeSide,
    `--- Kamailio ---\n${pbx?.log().slice(-16_384) ?? ''}`,
  ].join('\n'), async () => {
    try {
      return await body();
    } catch (err) {
      nodeSide = await nodeSideOfFailure().catch((e: unknown) => `(the node's side could not be read: ${String(e)})`);
      throw err;
    }
  });
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
    await phone?.stop();
    await tcpPhone?.stop();
    await lbPhone?.stop();
    // A case that failed mid-call leaves its SIPp caller waiting for its timeout.
    killAllSipp();
    for (const t of traces) await t.stop();
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

  test('a desk phone behind an office NAT registers through the edge NodePort Service to a Kamailio PBX', async () => {
    office = await startOfficeNetwork();
    traces.push(
      startPacketTrace('office phone, SIP and HTTP', OFFICE_NETNS, 'eth0', `udp port ${OFFICE_EDGE.sipPort} or tcp port ${OFFICE_EDGE.sipPort} or tcp port ${OFFICE_EDGE.httpPort}`, { payload: true }),
      startPacketTrace('office phone, RTP (headers)', OFFICE_NETNS, 'eth0', `udp portrange ${OFFICE_EDGE.rtpPorts.first}-${OFFICE_EDGE.rtpPorts.first + 2 * OFFICE_EDGE.rtpPorts.count}`, { payload: false, keepBytes: 16 * 1024 }),
      startPacketTrace('node side of the office NAT, SIP', CLUSTER_NETNS, 'wan0', `udp port ${OFFICE_EDGE.sipPort} or tcp port ${OFFICE_EDGE.sipPort}`, { payload: true, keepBytes: 32 * 1024 }),
      startPacketTrace('PBX, SIP', PBX_NETNS, 'eth0', 'udp port 5060', { payload: true, keepBytes: 32 * 1024 }),
    );
    pbx = await startPbx();
    await explained(async () => {
      // What an operator does for phones outside the cluster on a NodePort Service: ports inside the
      // node-port range (each is then its own node port) and the node's address advertised.
      // The PBX with its port set, as the sample pool ships. Its calls for phones, sent to the node
      // port, reach the edge pod from another source port: the node's conntrack already holds the
      // edge's own flow to the PBX (pod:30060 <-> PBX:5060), which the Service's DNAT would
      // duplicate, so the kernel gives the PBX's flow a new one. The edge must still ring the desk
      // (README: "The one-node cluster" says more).
      await patchPool({ pbx: { host: PBX_IP, port: 5060, transport: 'udp' }, edge: OFFICE_EDGE });
      // The pool's PBX and ports are part of the edge's configuration: its pods roll to the new ones.
      await edgeRolledOut();
      const service = JSON.parse(await kubectl(['get', 'services', '-l', POOL_EDGE, '-o', 'json'])) as { items: Array<{ spec: { type: string; ports: Array<{ name: string; port: number; nodePort?: number }> } }> };
      const ports = service.items[0]?.spec.ports ?? [];
      assert.equal(service.items[0]?.spec.type, 'NodePort');
      for (const name of ['sip-udp', 'sip-tcp', 'http', `rtp-${OFFICE_EDGE.rtpPorts.first}`]) {
        const p = ports.find((x) => x.name === name);
        assert.ok(p && p.nodePort === p.port, `${name}: node port ${p?.nodePort} is its port ${p?.port}`);
      }

      phone = startDeskPhone({ host: NODE_IP, port: OFFICE_EDGE.sipPort }, 'HD0002', 'example.3cx.eu');
      assert.deepEqual(await phone.register(), { status: 200, reason: 'OK' });
      assert.match(pbx!.log(), /PBX got REGISTER sip:example\.3cx\.eu from sip:HD0002@example\.3cx\.eu/);
      // The edge records where the desk registered from.
      await eventually('desk-3f-14 shows its registration', async () => (await registration())?.identity === 'HD0002', 30_000, 500);
    });
  });

  test('the phone logs bob in by PIN over RTP through the Service, and gets the check-sync NOTIFY through its NAT', async () => {
    await explained(async () => {
      assert.ok(phone, 'the previous test started the office phone');
      const login = await phone.login('*77*102*', `${BOB_PIN}#`);
      // The prompt reached the phone (the IVR sent RTP back to where the phone's RTP came from,
      // through kube-proxy and the NAT), the PIN went in as RFC 4733 events, the edge hung up.
      assert.equal(login.status, 200, JSON.stringify(login));
      assert.ok(login.promptPackets > 0, `the phone heard the prompts: ${JSON.stringify(login)}`);
      assert.equal(login.hungUpByEdge, true, `the edge hung up after the confirmation: ${JSON.stringify(login)}`);
      const session = await eventually('bob Active at desk-3f-14', async () => {
        const list = JSON.parse(await kubectl(['get', 'hotdesksessions', '-o', 'json'])) as { items: Array<{ metadata: { uid: string }; spec: { user: string; device: string; origin?: string }; status?: { phase?: string } }> };
        return list.items.find((s) => s.spec.user === 'bob' && s.spec.device === 'desk-3f-14' && s.status?.phase === 'Active');
      }, 60_000, 500);
      assert.equal(session.spec.origin, 'featureCode');
      bobSession = session.metadata.uid;
      // The edge tells the phone to re-sync on the flow it registered from: through the NAT.
      const notifies = await phone.notifies(1, 60_000);
      assert.ok(notifies.some((n) => /^check-sync/i.test(n.event) && n.uri.startsWith('sip:HD0002@')), `NOTIFYs the phone got: ${JSON.stringify(notifies)}`);
      await eventually('desk-3f-14 acknowledged the re-sync', async () => {
        const device = JSON.parse(await kubectl(['get', 'hotdeskdevice', 'desk-3f-14', '-o', 'json'])) as { status?: { lastResync?: { acknowledgedAt?: string } } };
        return device.status?.lastResync?.acknowledgedAt;
      }, 30_000, 500);
    });
  });

  test('the phone fetches its new provisioning file by Digest through the Service', async () => {
    await explained(async () => {
      const file = await eventually('the file with bob on it', async () => {
        const f = await fetchFromOffice(`cfg${DESK_MAC}.xml`, `${DESK_MAC}:${DESK_PROVISIONING_PASSWORD}`);
        return f.status === '200' && f.body.includes('<P35>102</P35>') ? f.body : undefined;
      }, 30_000, 1_000);
      assert.match(file, /<P34>sample-only-change-me-bob<\/P34>/, 'the SIP password is filled in when the file is served');
      // The phone is pointed at what it reaches: the node's address and the pinned SIP port.
      assert.match(file, new RegExp(`<P47>${NODE_IP.replaceAll('.', '\\.')}:${OFFICE_EDGE.sipPort}</P47>`));
      // A wrong password looks like an unknown MAC.
      assert.equal((await fetchFromOffice(`cfg${DESK_MAC}.xml`, `${DESK_MAC}:wrong`)).status, '404');
    });
  });

  test('the phone registers as 102 and calls the PBX: answered through the edge, ended with BYE', async () => {
    await explained(async () => {
      assert.ok(phone);
      assert.deepEqual(await phone.register('102'), { status: 200, reason: 'OK' });
      await eventually('desk-3f-14 registered as 102', async () => (await registration())?.identity === '102', 30_000, 500);
      await callThePbx();
    });
  });

  test('deleting the edge pod: the phone registers again through the Service, bob stays logged in, calls work', async () => {
    await explained(async () => {
      assert.ok(phone, 'the earlier tests started the office phone');
      const sessions = await sessionUids();
      assert.ok(bobSession && sessions.includes(bobSession));
      const [victim] = await pods('default', POOL_EDGE);
      assert.ok(victim);
      await kubectl(['delete', 'pod', victim.metadata.name, '--wait=true']);
      await eventually('the edge back at full strength', async () => {
        const now = (await pods('default', POOL_EDGE)).filter((p) => p.status.phase === 'Running');
        return now.length === OFFICE_EDGE.replicas && now.every(ready) && !now.some((p) => p.metadata.name === victim.metadata.name);
      }, 180_000, 1_000);
      // The phone's next REGISTER (from the same socket, through the same NAT binding) reaches the
      // new pod once kube-proxy has its endpoint.
      await eventually('the phone registered again as 102', async () => (await phone!.register('102')).status === 200 || undefined, 60_000, 2_000);
      assert.deepEqual(await sessionUids(), sessions);
      await eventually('the new pod records desk-3f-14 as 102', async () => (await registration())?.identity === '102', 30_000, 500);
      await callThePbx();
    });
  });

  test('a call from a phone at the PBX to bob\'s extension rings the desk through the edge, on its NAT flow (pbx.phoneRouting contact)', async () => {
    await explained(async () => {
      assert.ok(phone && pbx, 'the earlier tests started the office phone and the PBX');
      await registerCaller();
      const callsBefore = (await phone.incoming(0, 0)).length;
      await callFromPbx('102', 'answered');
      const call = (await phone.incoming(callsBefore + 1, 15_000))[callsBefore];
      assert.ok(call, 'the desk phone rang');
      // The edge restored the Contact the phone registered (its LAN address) as the Request-URI and
      // sent it on the phone's flow: from the node's address and SIP port, through the NAT.
      assert.match(call.uri, new RegExp(`^sip:102@${escaped(OFFICE_PHONE_IP)}:\\d+`));
      assert.match(call.from, new RegExp(`sip:${CALLER_NUMBER}@`));
      assert.deepEqual(call.source, { transport: 'udp', address: NODE_IP, port: OFFICE_EDGE.sipPort });
      assert.equal(call.hungUp, true, 'the caller\'s BYE reached the desk');
      // What the PBX holds for 102: the edge, with a flow token, never the phone's LAN address.
      assert.match(pbx.log(), new RegExp(`PBX lookup found sip:${FLOW_TOKEN}@${escaped(NODE_IP)}:${OFFICE_EDGE.sipPort} dst <null>`));
    });
  });

  test('bob logs out at the desk: the phone re-syncs as idle, and a call to 102 no longer rings it (the edge answers 480)', async () => {
    await explained(async () => {
      assert.ok(phone && pbx && bobSession);
      const notifiesBefore = (await phone.notifies(0, 0)).length;
      const logout = await phone.login('*77*5*', '');
      assert.equal(logout.status, 200, JSON.stringify(logout));
      assert.equal(logout.hungUpByEdge, true, JSON.stringify(logout));
      await eventually('bob\'s session Ended', async () => {
        const list = JSON.parse(await kubectl(['get', 'hotdesksessions', '-o', 'json'])) as { items: Array<{ metadata: { uid: string }; status?: { phase?: string } }> };
        return list.items.find((s) => s.metadata.uid === bobSession)?.status?.phase === 'Ended';
      }, 60_000, 500);
      const notifies = await phone.notifies(notifiesBefore + 1, 60_000);
      assert.ok(notifies.length > notifiesBefore, `the phone was told to re-sync after the logout: ${JSON.stringify(notifies)}`);
      // The phone, re-provisioned, registers its idle account again. The PBX still holds 102's
      // binding on the desk's flow until it expires.
      await eventually('desk-3f-14 registered as HD0002', async () => {
        assert.equal((await phone!.register('HD0002')).status, 200);
        return (await registration())?.identity === 'HD0002';
      }, 30_000, 1_000);
      const invitesAtPbx = () => pbx!.log().match(/PBX got INVITE sip:102@/g)?.length ?? 0;
      const invitesBefore = invitesAtPbx();
      const callsBefore = (await phone.incoming(0, 0)).length;
      const refused = await callFromPbx('102', 'unavailable');
      assert.match(refused, /SIP\/2\.0 480/);
      assert.equal(invitesAtPbx(), invitesBefore + 1, 'the PBX tried its binding for 102');
      // Nothing reached the phone: give a stray INVITE a moment to arrive before counting.
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal((await phone.incoming(0, 0)).length, callsBefore, 'the idle desk did not ring for 102');
    });
  });

  test('a phone over TCP through the node port: registers as Alice at her desk, calls the PBX, and gets the PBX\'s call and check-sync on its connection', async () => {
    await explained(async () => {
      assert.ok(pbx);
      // Desk 3F-12, where the samples' admin session seats Alice (101): its phone registers her extension.
      tcpPhone = startDeskPhone({ host: NODE_IP, port: OFFICE_EDGE.sipPort, transport: 'tcp' }, 'HD0001', 'example.3cx.eu');
      assert.deepEqual(await tcpPhone.register('101'), { status: 200, reason: 'OK' });
      const seen = await eventually('desk-3f-12 registered as 101', async () => {
        const r = await registration('desk-3f-12');
        return r?.identity === '101' ? r : undefined;
      }, 30_000, 500);
      assert.match(seen.contact ?? '', /;transport=tcp/i);
      await callThePbx(tcpPhone);
      // The PBX's call for 101 comes back on the connection the phone opened: nothing can connect
      // to the office LAN from outside, so no other way in exists.
      await registerCaller();
      await callFromPbx('101', 'answered');
      const [call] = await tcpPhone.incoming(1, 15_000);
      assert.ok(call, 'the TCP phone rang');
      assert.match(call.uri, new RegExp(`^sip:101@${escaped(OFFICE_PHONE_IP)}:\\d+;transport=tcp`, 'i'));
      assert.deepEqual({ transport: call.source.transport, address: call.source.address, port: call.source.port }, { transport: 'tcp', address: NODE_IP, port: OFFICE_EDGE.sipPort });
      assert.equal(call.hungUp, true);
      // Alice is logged out by an admin: the phone hears of it on the same connection.
      await kubectl(['delete', 'hotdesksession', 'alice-at-desk-3f-12', '--wait=true']);
      const notifies = await tcpPhone.notifies(1, 60_000);
      assert.ok(notifies.some((n) => /^check-sync/i.test(n.event) && n.uri.startsWith('sip:101@')), `NOTIFYs the TCP phone got: ${JSON.stringify(notifies)}`);
    });
  });

  test('with pbx.phoneRouting path the PBX routes a call along the edge\'s Path: the idle desk rings for its idle account', async () => {
    await explained(async () => {
      assert.ok(phone && pbx);
      // A pool change rolls the edge (its pods carry a checksum of the pool's spec): the phone
      // registers again once the new pod is up, now with the Path the edge adds.
      await patchPool({ pbx: { phoneRouting: 'path' } });
      await edgeRolledOut();
      const paths = () => pbx!.log().match(/PBX stored Path <sip:/g)?.length ?? 0;
      const before = paths();
      await eventually('desk-3f-14 registered as HD0002 with a Path to the edge', async () => {
        if ((await phone!.register('HD0002')).status !== 200) return undefined;
        return paths() > before && (await registration())?.identity === 'HD0002';
      }, 60_000, 1_000);
      const callsBefore = (await phone.incoming(0, 0)).length;
      await callFromPbx('HD0002', 'answered');
      const call = (await phone.incoming(callsBefore + 1, 15_000))[callsBefore];
      assert.ok(call, 'the desk phone rang');
      assert.deepEqual(call.source, { transport: 'udp', address: NODE_IP, port: OFFICE_EDGE.sipPort });
      assert.equal(call.hungUp, true);
      // The PBX kept the phone's own Contact and sent the call to the edge named in the Path.
      assert.match(pbx.log(), new RegExp(`PBX lookup found sip:HD0002@${escaped(OFFICE_PHONE_IP)}:\\d+ dst sip:${FLOW_TOKEN}@${escaped(NODE_IP)}:${OFFICE_EDGE.sipPort};lr;ob`));
    });
  });

  test('a LoadBalancer Service: with the address published in its status and routed to the node, the phone behind NAT registers and logs in through it', async (t) => {
    await explained(async () => {
      assert.ok(office);
      // The pool as an operator sets it on a cloud: a LoadBalancer Service, its address advertised
      // (and the default phone routing back).
      await patchPool({ pbx: { phoneRouting: null }, edge: { serviceType: 'LoadBalancer', advertisedHost: LOAD_BALANCER_IP } });
      await edgeRolledOut();
      const service = await eventually('the edge Service turned LoadBalancer', async () => {
        const s = await edgeService();
        return s.spec.type === 'LoadBalancer' && s.spec.healthCheckNodePort ? s : undefined;
      }, 60_000, 1_000);
      assert.equal(service.spec.externalTrafficPolicy, 'Local');
      // No cloud here: the test is the load-balancer controller. It publishes the address in the
      // Service's status (kube-proxy then forwards that address's ports to the Service) and the
      // network routes the address to the node.
      await kubectl(['patch', 'service', service.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: LOAD_BALANCER_IP, ipMode: 'VIP' }] } } })]);
      await office.routeToNode(LOAD_BALANCER_IP);
      // A load balancer health-checks each node on healthCheckNodePort (externalTrafficPolicy
      // Local): kube-proxy answers 200 with the count of local endpoints where an edge pod runs.
      const health = await eventually('kube-proxy answers the health check', async () => {
        const r = await runCommand('nsenter', [`--net=/run/netns/${PBX_NETNS}`, 'curl', '-sS', '--max-time', '5', '-w', '\n%{http_code}', `http://${NODE_IP}:${service.spec.healthCheckNodePort}/healthz`]);
        return r.code === 0 && r.stdout.endsWith('\n200') ? r.stdout : undefined;
      }, 30_000, 1_000);
      assert.match(health, /"localEndpoints":\s*1\b/);
      t.diagnostic(`kube-proxy on healthCheckNodePort ${service.spec.healthCheckNodePort}: ${health.replace(/\s+/g, ' ')}`);
      // And a node without a ready endpoint answers 503, so the load balancer leaves it out: shown
      // with a Service of the same kind whose selector matches no pod.
      const probe = 'lb-health-probe-without-endpoints';
      await kubectl(['create', 'service', 'loadbalancer', probe, '--tcp=9:9']);
      try {
        await kubectl(['patch', 'service', probe, '--type=merge', '-p', JSON.stringify({ spec: { externalTrafficPolicy: 'Local' } })]);
        const probePort = (JSON.parse(await kubectl(['get', 'service', probe, '-o', 'json'])) as EdgeService).spec.healthCheckNodePort;
        assert.ok(probePort, 'the API server allocated a healthCheckNodePort');
        const empty = await eventually('kube-proxy answers 503 for a Service without local endpoints', async () => {
          const r = await runCommand('nsenter', [`--net=/run/netns/${PBX_NETNS}`, 'curl', '-sS', '--max-time', '5', '-w', '\n%{http_code}', `http://${NODE_IP}:${probePort}/healthz`]);
          return r.code === 0 && r.stdout.endsWith('\n503') ? r.stdout : undefined;
        }, 30_000, 1_000);
        assert.match(empty, /"localEndpoints":\s*0\b/);
        t.diagnostic(`kube-proxy for a Service without local endpoints: ${empty.replace(/\s+/g, ' ')}`);
      } finally {
        await kubectl(['delete', 'service', probe, '--wait=true']);
      }

      lbPhone = startDeskPhone({ host: LOAD_BALANCER_IP, port: OFFICE_EDGE.sipPort }, 'HD0002', 'example.3cx.eu');
      // kube-proxy programs the published address a moment after the status changes.
      await eventually('the phone registered through the LoadBalancer address', async () => (await lbPhone!.register('HD0002')).status === 200 || undefined, 30_000, 1_000);
      await eventually('desk-3f-14 registered as HD0002', async () => (await registration())?.identity === 'HD0002', 30_000, 500);
      const login = await lbPhone.login('*77*102*', `${BOB_PIN}#`);
      assert.equal(login.status, 200, JSON.stringify(login));
      assert.ok(login.promptPackets > 0, `the phone heard the prompts through the LoadBalancer address: ${JSON.stringify(login)}`);
      assert.equal(login.hungUpByEdge, true, JSON.stringify(login));
      await eventually('bob Active at desk-3f-14 again', async () => {
        const list = JSON.parse(await kubectl(['get', 'hotdesksessions', '-o', 'json'])) as { items: Array<{ metadata: { uid: string }; spec: { user: string; device: string }; status?: { phase?: string } }> };
        return list.items.some((s) => s.spec.user === 'bob' && s.spec.device === 'desk-3f-14' && s.status?.phase === 'Active' && s.metadata.uid !== bobSession);
      }, 60_000, 500);
      const notifies = await lbPhone.notifies(1, 60_000);
      assert.ok(notifies.some((n) => /^check-sync/i.test(n.event)), `NOTIFYs the phone got: ${JSON.stringify(notifies)}`);
    });
  });
});

/** A desk phone (bob's, unless told) calls a number at the PBX; the callee answers, and the phone hangs up with BYE. */
async function callThePbx(caller: DeskPhone = phone!): Promise<void> {
  const callee = await startCallee();
  try {
    const call = await caller.call(CALLEE_NUMBER, 500);
    const answered = await callee.done;
    assert.deepEqual(call, { status: 200, reason: 'OK', byeStatus: 200 }, answered.messages);
    assert.equal(answered.code, 0, `the callee's call did not complete:\n${answered.messages}`);
    assert.match(answered.messages, /INVITE sip:2000@/);
    assert.match(answered.messages, /BYE sip:/);
  } finally {
    await callee.stop();
  }
}
