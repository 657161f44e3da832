/**
 * Two edge replicas of one pool, as separate processes against the real API server, behind a
 * Service address made the way kube-proxy makes one (test/support/loopback-service.ts): the phone's
 * traffic reaches replica A (ClientIP affinity), the PBX's (Kamailio) replica B. Both replicas
 * listen on the same SIP port at their own "pod" address and advertise the Service address, as in
 * a cluster. Envtest has no endpoint controller, so the test writes the edge Service's
 * EndpointSlice itself, and rewrites it when A dies.
 *
 * What a user sees: a call from the PBX rings the phone registered through A though it reached B
 * (B passes it to A); the phone calls out; a login by PIN gets the phone exactly one check-sync,
 * both when the phone's RTP reaches A, whose call it is, and when kube-proxy sends it to B (its
 * ClientIP affinity is per Service port): then B relays it to A and A's prompts back through B, so
 * the phone hears them from the Service address and port it sent to; after A is killed the session stays Active, the phone registers again through B and a call rings
 * it again. Run once per pbx.phoneRouting (replicas-contact.test.ts, replicas-path.test.ts): the
 * token comes back in the Request-URI, or in a Route that B must pass on untouched.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { createController } from '../../src/controller/controller.ts';
import type { Manager } from '../../src/runtime/index.ts';
import { startKamailio, type Kamailio } from './kamailio.ts';
import { deviceYaml, namespaceYaml, poolYaml, userYaml } from './manifests.ts';
import { RtpPhone } from './rtp-phone.ts';
import { expectPassed, killAllSipp, startSipp } from './sipp.ts';
import { ALICE, BOB, metricValue } from './stack.ts';
import { eventually } from '../support/eventually.ts';
import { LocalService } from '../support/local-service.ts';
import { freeLoopbackPort } from '../support/ports.ts';

export function replicaSuite(phoneRouting: 'contact' | 'path'): void {
  const NS = `e2e-replicas-${phoneRouting}`;
  const POOL = 'office';
  // Addresses and an interface of this test process alone: other test files may make their own.
  const NET = `10.253.${process.pid % 250}`;
  const LINK = `hdsvc${process.pid % 100000}`;
  const SERVICE = `${NET}.10`;
  const POD_A = `${NET}.11`;
  const POD_B = `${NET}.12`;
  // The pool's IVR ports, as the controller passes them (HOTDESK_RTP_PORTS): 4 even ports; both
  // replicas bind all of them, each at its own pod address.
  const RTP_FIRST = 43_000 + 8 * (process.pid % 250);
  const RTP_PORTS = `${RTP_FIRST}-${RTP_FIRST + 6}`;

  const EDGE_MAIN = new URL('../../src/cmd/edge.ts', import.meta.url).pathname;

  interface EdgeProcess {
    name: string;
    child: ChildProcess;
    metricsPort: number;
    log(): string;
    metrics(): Promise<string>;
    kill(signal: NodeJS.Signals): Promise<void>;
  }

  /** One replica as the Deployment runs it: its own process, its pod address, the pool's SIP port. */
  async function startEdgeProcess(cp: ControlPlane, podIp: string, sipPort: number, relayPort: number): Promise<EdgeProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: cp.kubeconfigPath,
      HOTDESK_POOL: POOL,
      HOTDESK_NAMESPACE: NS,
      HOTDESK_BIND_HOST: podIp,
      HOTDESK_ADVERTISED_HOST: SERVICE,
      POD_IP: podIp,
      HOTDESK_SIP_PORT: String(sipPort),
      HOTDESK_HTTP_PORT: '0',
      HOTDESK_METRICS_PORT: '0',
      HOTDESK_PROVISIONING_WORKERS: '0',
      HOTDESK_RTP_PORTS: RTP_PORTS,
      HOTDESK_MEDIA_RELAY_PORT: String(relayPort),
    };
    delete env.KUBERNETES_SERVICE_HOST;
    const child = spawn(process.execPath, [EDGE_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => (output = (output + d.toString()).slice(-100_000));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = await eventually(`edge at ${podIp} ready`, () => {
      if (child.exitCode !== null) throw new Error(`edge at ${podIp} exited:\n${output}`);
      const line = output.split('\n').find((l) => l.startsWith('{"ready":true'));
      return line ? (JSON.parse(line) as { metricsPort: number }) : undefined;
    }, 60_000);
    return {
      name: `${podIp}:${sipPort}`,
      child,
      metricsPort: ready.metricsPort,
      log: () => output,
      metrics: async () => (await fetch(`http://${podIp}:${ready.metricsPort}/metrics`)).text(),
      kill: async (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
  }

  function endpointSliceYaml(sipPort: number, pods: Array<{ ip: string; ready: boolean }>): string {
    return JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${POOL}-edge-replicas`, namespace: NS, labels: { 'kubernetes.io/service-name': `${POOL}-edge` } },
      addressType: 'IPv4',
      ports: [{ name: 'sip-udp', port: sipPort, protocol: 'UDP' }, { name: 'sip-tcp', port: sipPort, protocol: 'TCP' }],
      endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: p.ready } })),
    });
  }

  let cp: ControlPlane;
  let controller: Manager | undefined;
  let kamailio: Kamailio | undefined;
  let service: LocalService | undefined;
  let edgeA: EdgeProcess | undefined;
  let edgeB: EdgeProcess | undefined;
  let sipPort: number;
  let relayPort: number;
  let emergencyPort: number;

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }

  async function getJson<T = any>(...what: string[]): Promise<T | undefined> {
    const r = await cp.kubectl(['get', ...what, '-o', 'json'], { namespace: NS });
    return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  }

  const edgeAddress = () => `${SERVICE}:${sipPort}`;

  async function register(port: number, user: string): Promise<void> {
    const run = await startSipp({ scenario: 'register.xml', port, remote: edgeAddress(), keys: { user, contact_port: port }, timeoutSeconds: 15 });
    await expectPassed(run, `REGISTER as ${user} through the Service`);
  }

  /** A caller at the PBX: INVITE to Kamailio for `user`, answered by the phone, hung up by the caller. */
  async function callFromPbx(phonePort: number, user: string): Promise<{ phone: string; caller: string }> {
    const phone = await startSipp({ scenario: 'uas-answer.xml', port: phonePort, timeoutSeconds: 30 });
    const caller = await startSipp({ scenario: 'call-answered.xml', remote: `127.0.0.1:${kamailio!.port}`, service: user, keys: { caller: '200' }, timeoutSeconds: 30 });
    const [callee, calling] = await Promise.all([expectPassed(phone, `the phone rings for ${user} and is hung up`), expectPassed(caller, `the PBX's call to ${user}`)]);
    return { phone: callee.messages, caller: calling.messages };
  }

  async function registration(desk = 'desk-1'): Promise<any> {
    return (await getJson('hotdeskdevice', desk))?.status?.registration;
  }

  /** RTP packets a replica relayed for the other's call (hotdesk_edge_rtp_relayed_packets_total). */
  async function relayed(edge: EdgeProcess): Promise<{ toOwner: number; toPhone: number }> {
    const text = await edge.metrics();
    const count = (direction: string) => metricValue(text, 'hotdesk_edge_rtp_relayed_packets_total', { direction });
    return { toOwner: count('to_owner'), toPhone: count('to_phone') };
  }

  /**
   * A login by PIN from a desk phone on a flow A has not seen (so it answers a Digest challenge):
   * its SIP reaches A, its RTP the replica `rtpTo` (kube-proxy's affinity is per Service port). The
   * phone waits for the prompt, keys the PIN as RFC 4733 events, and the edge hangs up. Returns
   * where the answer told it to send RTP and where the RTP it heard came from.
   */
  async function loginByPin(o: { idle: string; idlePassword: string; user: { extension: string; pin: string }; rtpTo: string }): Promise<{ answer: string; heardFrom: string[] }> {
    const media = await RtpPhone.open();
    try {
      await service!.pin({ address: '127.0.0.1', port: media.port }, o.rtpTo);
      const call = await startSipp({ scenario: 'feature-call-auth.xml', remote: edgeAddress(), service: `*77*${o.user.extension}*`, keys: { caller: o.idle, rtp_port: media.port }, auth: { user: o.idle, password: o.idlePassword }, timeoutSeconds: 40 });
      await media.waitForPackets(10);
      await media.press(`${o.user.pin}#`);
      await expectPassed(call, 'login call');
      return { answer: `${media.remote!.address}:${media.remote!.port}`, heardFrom: [...new Set(media.received.map((r) => r.from))] };
    } finally {
      await media.close();
    }
  }

  async function resyncCounts(edge: EdgeProcess): Promise<number> {
    const text = await edge.metrics();
    return ['acknowledged', 'refused', 'failed', 'not_registered'].reduce((n, result) => n + metricValue(text, 'hotdesk_resync_notifies_total', { result }), 0);
  }

  before(async () => {
    cp = await startControlPlane();
    controller = createController({ kubeConfig: cp.kubeConfig, leaderElection: false, server: { host: '127.0.0.1', port: 0 }, shutdownGraceMs: 2_000 });
    await controller.start();
    emergencyPort = await freeLoopbackPort();
    kamailio = await startKamailio({ emergencyPort, usePath: phoneRouting === 'path' });
    sipPort = await freeLoopbackPort();

    await kubectl(['apply', '-f', '-'], namespaceYaml(NS));
    await kubectl(['apply', '-f', '-'], [
      poolYaml(NS, POOL, { pbxPort: kamailio.port, phoneRouting }),
      userYaml(NS, ALICE.name, POOL, ALICE.extension, 'alice-Secret-Pw1', ALICE.pin),
      deviceYaml(NS, 'desk-1', POOL, '00156500a001', 'HD0001', 'idle-Secret-Pw1', 'Floor 3 desk 1'),
      userYaml(NS, BOB.name, POOL, BOB.extension, 'bob-Secret-Pw1', BOB.pin),
      deviceYaml(NS, 'desk-2', POOL, '00156500a002', 'HD0002', 'idle-Secret-Pw2', 'Floor 3 desk 2'),
    ].join('---\n'));
    await eventually('idle provisioning of desk-1', async () => (await getJson('configmap', 'desk-1-provisioning'))?.metadata?.annotations?.['hotdesk.io/config-revision']);
    // The endpoint controller's work: both replicas ready at the pool's SIP port.
    await kubectl(['apply', '-f', '-'], endpointSliceYaml(sipPort, [{ ip: POD_A, ready: true }, { ip: POD_B, ready: true }]));

    // kube-proxy's work: the PBX's traffic to replica B, the phones' to replica A.
    service = await LocalService.create(LINK, SERVICE, [POD_A, POD_B]);
    await service.pin({ address: '127.0.0.1', port: kamailio.port }, POD_B);
    await service.routeRest(POD_A);

    relayPort = await freeLoopbackPort();
    [edgeA, edgeB] = await Promise.all([startEdgeProcess(cp, POD_A, sipPort, relayPort), startEdgeProcess(cp, POD_B, sipPort, relayPort)]);
  });

  after(async () => {
    killAllSipp();
    await edgeA?.kill('SIGKILL');
    await edgeB?.kill('SIGKILL');
    await service?.close();
    await kamailio?.stop();
    await controller?.stop();
    await cp?.stop();
  });

  describe(`two edge replicas behind one Service (phoneRouting: ${phoneRouting})`, { timeout: 300_000 }, () => {
    const phonePort = { value: 0 };

    it('rings a phone registered through replica A for a call from the PBX that reached replica B', async () => {
      phonePort.value = await freeLoopbackPort();
      await register(phonePort.value, 'HD0001');
      const reg = await eventually('desk-1 registered through A', async () => {
        const r = await registration();
        return r?.identity === 'HD0001' ? r : undefined;
      });
      assert.equal(reg.replica, edgeA!.name, 'status names the replica holding the flow');

      const call = await callFromPbx(phonePort.value, 'HD0001');
      // B passed the INVITE on with its own pod address in Via (so A's loop detection tells them
      // apart though both advertise the Service address), then A delivered it on the phone's flow.
      assert.match(call.phone, new RegExp(`Via: SIP/2\\.0/UDP ${POD_B.replace(/\./g, '\\.')}:${sipPort}`));
      assert.match(call.phone, /BYE sip:/, 'the caller\'s BYE reached the phone through the replicas');
      assert.equal(metricValue(await edgeB!.metrics(), 'sip_requests_total', { method: 'INVITE' }) >= 1, true, 'the INVITE came in at B');
    });

    it('lets the phone call out through A', async () => {
      const desk = await startSipp({ scenario: 'uas-answer.xml', port: emergencyPort, timeoutSeconds: 30 });
      const call = await startSipp({ scenario: 'call-answered.xml', port: phonePort.value, remote: edgeAddress(), service: '911', keys: { caller: 'HD0001' }, timeoutSeconds: 30 });
      await Promise.all([expectPassed(desk, 'the emergency desk answers'), expectPassed(call, 'the phone\'s call out')]);
    });

    it('logs alice in by PIN with SIP and RTP on A: she hears the prompts, nothing is relayed, and the phone gets one check-sync, not one per replica', async () => {
      const notified = await startSipp({ scenario: 'notify.xml', port: phonePort.value, timeoutSeconds: 40 });
      const login = await loginByPin({ idle: 'HD0001', idlePassword: 'idle-Secret-Pw1', user: ALICE, rtpTo: POD_A });
      assert.deepEqual(login.heardFrom, [login.answer], 'the prompts come from the Service address and port the answer named');
      await eventually('alice session Active', async () => (await getJson<any>('hotdesksessions'))?.items.find((s: any) => s.spec.user === 'alice' && s.status?.phase === 'Active'));
      const notify = await expectPassed(notified, 'check-sync NOTIFY');
      assert.match(notify.messages, /Event: check-sync;reboot=false/i);
      await eventually('A counted its NOTIFY acknowledged', async () => metricValue(await edgeA!.metrics(), 'hotdesk_resync_notifies_total', { result: 'acknowledged' }) === 1);
      // B saw the same configuration change in its own caches and left the phone to A.
      assert.equal(await resyncCounts(edgeB!), 0, 'replica B sent no NOTIFY');
      assert.equal(await resyncCounts(edgeA!), 1, 'replica A sent one');
      assert.deepEqual(await relayed(edgeA!), { toOwner: 0, toPhone: 0 }, 'A relayed nothing');
      assert.deepEqual(await relayed(edgeB!), { toOwner: 0, toPhone: 0 }, 'B relayed nothing');
      await register(phonePort.value, ALICE.extension);
      await eventually('registered as 101 through A', async () => (await registration())?.identity === ALICE.extension);
    });

    it('logs bob in by PIN with his SIP on A and his RTP on B: B relays both ways, he hears the prompts from the Service port, one session, one check-sync', async () => {
      const phone = await freeLoopbackPort();
      await register(phone, 'HD0002');
      await eventually('desk-2 registered through A', async () => (await registration('desk-2'))?.replica === edgeA!.name);
      const notified = await startSipp({ scenario: 'notify.xml', port: phone, timeoutSeconds: 40 });
      const login = await loginByPin({ idle: 'HD0002', idlePassword: 'idle-Secret-Pw2', user: BOB, rtpTo: POD_B });
      assert.equal(login.answer.startsWith(`${SERVICE}:`), true, `the answer names the Service address: ${login.answer}`);
      assert.deepEqual(login.heardFrom, [login.answer], 'the prompts come from the Service address and port the phone sends to, though B sends them');
      const sessions = await eventually('bob session Active', async () => {
        const bobs = (await getJson<any>('hotdesksessions'))?.items.filter((s: any) => s.spec.user === 'bob') ?? [];
        return bobs.some((s: any) => s.status?.phase === 'Active') ? bobs : undefined;
      });
      assert.equal(sessions.length, 1, 'exactly one session for bob');
      assert.equal(sessions[0].spec.device, 'desk-2');
      const notify = await expectPassed(notified, 'check-sync NOTIFY for desk-2');
      assert.match(notify.messages, /Event: check-sync;reboot=false/i);
      await eventually('A counted the NOTIFY acknowledged', async () => metricValue(await edgeA!.metrics(), 'hotdesk_resync_notifies_total', { result: 'acknowledged' }) === 2);
      assert.equal(await resyncCounts(edgeA!), 2, 'replica A sent one NOTIFY for this login (and one for alice\'s)');
      assert.equal(await resyncCounts(edgeB!), 0, 'replica B sent no NOTIFY');
      assert.equal(metricValue(await edgeA!.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 2, 'A answered both logins');
      assert.equal(metricValue(await edgeB!.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 0, 'B answered none');
      const throughB = await relayed(edgeB!);
      assert.ok(throughB.toOwner >= 10, `B passed the phone's RTP (its keys) to A: ${JSON.stringify(throughB)}`);
      assert.ok(throughB.toPhone >= 10, `B sent A's prompts on to the phone: ${JSON.stringify(throughB)}`);
      assert.deepEqual(await relayed(edgeA!), { toOwner: 0, toPhone: 0 }, 'A relayed nothing itself');
    });

    it('keeps the session when A is killed; the phone registers again through B and rings again', async () => {
      await edgeA!.kill('SIGKILL');
      // The endpoint controller marks A's endpoint not ready; kube-proxy sends everyone to B.
      await kubectl(['apply', '-f', '-'], endpointSliceYaml(sipPort, [{ ip: POD_A, ready: false }, { ip: POD_B, ready: true }]));
      await service!.routeRest(POD_B);

      // Until the phone registers again, the PBX's binding names A's flow: B answers 430 Flow Failed.
      const rejected = await startSipp({ scenario: 'call-rejected.xml', remote: `127.0.0.1:${kamailio!.port}`, service: ALICE.extension, keys: { caller: '200' }, timeoutSeconds: 30 });
      const refusal = await rejected.done;
      assert.match(refusal.messages, /SIP\/2\.0 430 Flow Failed/, `${refusal.output}\n${refusal.messages.slice(-3000)}`);

      const session = (await getJson<any>('hotdesksessions'))?.items.find((s: any) => s.spec.user === 'alice');
      assert.equal(session?.status?.phase, 'Active', 'no session is lost with the replica');

      await register(phonePort.value, ALICE.extension);
      const reg = await eventually('registered through B', async () => {
        const r = await registration();
        return r?.replica === edgeB!.name ? r : undefined;
      });
      assert.equal(reg.identity, ALICE.extension);

      const call = await callFromPbx(phonePort.value, ALICE.extension);
      assert.match(call.phone, /BYE sip:/);
      assert.equal((await getJson<any>('hotdesksession', session.metadata.name))?.status?.phase, 'Active');
    });
  });
}
