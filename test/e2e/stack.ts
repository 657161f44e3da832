/**
 * One end-to-end stack: a real control plane, the controller, Kamailio standing in for the tenant
 * PBX, and the edge in front of it, with a pool "office" (alice 101, bob 102, desk-1 HD0001 at
 * "Floor 3 desk 1", desk-2 HD0002). Each test file starts one in before() and stops it in after().
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { createController } from '../../src/controller/controller.ts';
import { startEdge, type Edge } from '../../src/edge/edge.ts';
import type { Manager } from '../../src/runtime/index.ts';
import { startKamailio, type Kamailio } from './kamailio.ts';
import { deviceYaml, namespaceYaml, poolYaml, userYaml } from './manifests.ts';
import { freeLoopbackPort } from '../support/ports.ts';
import { expectPassed, killAllSipp, startSipp } from './sipp.ts';
import { eventually } from '../support/eventually.ts';

const execFileAsync = promisify(execFile);

export const POOL = 'office';
export const DESK_LOCATION = 'Floor 3 desk 1';
export const ALICE = { name: 'alice', extension: '101', pin: '4821' };
export const BOB = { name: 'bob', extension: '102', pin: '7390' };

export interface StackOptions {
  namespace: string;
  maxAttempts?: number;
  /** The edge's provisioning worker processes; default: the edge's own default. */
  provisioningWorkers?: number;
  /** Where the edge binds SIP and RTP; default 127.0.0.1. */
  edgeHost?: string;
  /** The address the edge advertises (Via, Record-Route, Contact, SDP); default: its bind address. */
  advertisedHost?: string;
  /** The address the PBX is told (pool pbx.location InCluster: the pod IP); default: advertisedHost. */
  pbxFacingHost?: string;
  /** The IVR's RTP ports, as a pool's edge.rtpPorts gives them; default: any free port. */
  rtpPortRange?: { min: number; max: number };
  /** A PBX of the test's own (e.g. in a namespace of a NAT topology) instead of Kamailio on loopback. */
  pbx?: { host: string; start: (emergencyPort: number) => Promise<Kamailio> };
  /** The pool's pbx.phoneRouting; unset: the default. */
  phoneRouting?: 'contact' | 'path';
  /** SIP over TLS for phones on a free port (Edge.tlsPort), with this certificate and key. */
  edgeTls?: { cert: string | Buffer; key: string | Buffer };
}

export interface Stack {
  ns: string;
  cp: ControlPlane;
  kamailio: Kamailio;
  edge: Edge;
  /** Where Kamailio sends 911/112: start the emergency UAS here. */
  emergencyPort: number;
  /** host:port of the edge's SIP listener. */
  edgeAddress: string;
  apply(yaml: string): Promise<void>;
  getJson<T = any>(...what: string[]): Promise<T | undefined>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export { eventually };

/** GET through curl, a real Digest client, as a phone's provisioning client; rejects with the HTTP status unless 200. */
export async function fetchProvisioning(stack: Stack, file: string, credentials: string): Promise<string> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--digest', '-u', credentials, '-w', '\n%{http_code}', `http://127.0.0.1:${stack.edge.httpPort}/${file}`]);
  const status = stdout.slice(stdout.lastIndexOf('\n') + 1);
  if (status !== '200') throw new Error(`provisioning fetch answered ${status}`);
  return stdout.slice(0, stdout.lastIndexOf('\n'));
}

/** A sample's value from Prometheus text exposition; 0 when the series is absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

/**
 * A SIPp phone registers `user` through the edge from `port` (a free one when omitted) and returns
 * the port: requests sent from it afterwards arrive on the flow that REGISTER proved.
 */
export async function registerThroughEdge(stack: Stack, user: string, port?: number): Promise<number> {
  const phonePort = port ?? (await freeLoopbackPort());
  const run = await startSipp({ scenario: 'register.xml', port: phonePort, remote: stack.edgeAddress, keys: { user, contact_port: phonePort }, timeoutSeconds: 15 });
  await expectPassed(run, `REGISTER as ${user} from port ${phonePort}`);
  return phonePort;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    killAllSipp();
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  try {
    const cp = await startControlPlane();
    cleanups.push(() => cp.stop());
    const controller: Manager = createController({
      kubeConfig: cp.kubeConfig,
      leaderElection: false,
      server: { host: '127.0.0.1', port: 0 },
      // Manager.shutdown leaves its grace-period timer running after the queues drain, which
      // keeps the test process alive for the whole grace period: keep it short.
      shutdownGraceMs: 2_000,
    });
    await controller.start();
    cleanups.push(() => controller.stop());
    const emergencyPort = await freeLoopbackPort();
    const kamailio = opts.pbx ? await opts.pbx.start(emergencyPort) : await startKamailio({ emergencyPort });
    cleanups.push(() => kamailio.stop());

    const apply = async (yaml: string) => {
      const r = await cp.kubectl(['apply', '-f', '-'], { input: yaml });
      assert.equal(r.code, 0, r.stderr);
    };
    const getJson = async <T>(...what: string[]): Promise<T | undefined> => {
      const r = await cp.kubectl(['get', ...what, '-o', 'json'], { namespace: opts.namespace });
      return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
    };
    const ns = opts.namespace;
    await apply(namespaceYaml(ns));
    await apply([
      poolYaml(ns, POOL, {
        pbxPort: kamailio.port,
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        ...(opts.pbx ? { pbxHost: opts.pbx.host } : {}),
        ...(opts.phoneRouting ? { phoneRouting: opts.phoneRouting } : {}),
      }),
      userYaml(ns, ALICE.name, POOL, ALICE.extension, 'alice-Secret-Pw1', ALICE.pin),
      userYaml(ns, BOB.name, POOL, BOB.extension, 'bob-Secret-Pw2', BOB.pin),
      deviceYaml(ns, 'desk-1', POOL, '00156500a001', 'HD0001', 'idle-Secret-Pw1', DESK_LOCATION),
      deviceYaml(ns, 'desk-2', POOL, '00156500a002', 'HD0002', 'idle-Secret-Pw2', 'Floor 4 desk 2'),
    ].join('---\n'));
    // The idle configuration must exist before the edge starts: its first sighting is no change.
    for (const desk of ['desk-1', 'desk-2']) {
      await eventually(`idle provisioning of ${desk}`, async () => (await getJson<any>('configmap', `${desk}-provisioning`))?.metadata?.annotations?.['hotdesk.io/config-revision']);
    }

    const edge = await startEdge({
      kubeConfig: cp.kubeConfig,
      namespace: ns,
      pool: POOL,
      host: opts.edgeHost ?? '127.0.0.1',
      ...(opts.advertisedHost ? { advertisedHost: opts.advertisedHost } : {}),
      ...(opts.pbxFacingHost ? { pbxFacingHost: opts.pbxFacingHost } : {}),
      ...(opts.rtpPortRange ? { rtpPortRange: opts.rtpPortRange } : {}),
      sipPort: await freeLoopbackPort(),
      httpPort: 0,
      metricsPort: 0,
      sipTimers: { t1: 200 },
      ...(opts.edgeTls ? { tls: { port: 0, ...opts.edgeTls } } : {}),
      ...(opts.provisioningWorkers !== undefined ? { provisioningWorkers: opts.provisioningWorkers } : {}),
    });
    cleanups.push(() => edge.stop());
    const metrics = async () => {
      const r = await fetch(`http://127.0.0.1:${edge.metricsPort}/metrics`);
      return r.text();
    };
    return { ns, cp, kamailio, edge, emergencyPort, edgeAddress: `127.0.0.1:${edge.sipPort}`, apply, getJson, metrics, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
