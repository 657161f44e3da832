import { startControlPlane } from '../src/envtest/controlplane.ts';
import { EdgeProcess } from './edge-process.ts';
import { createPool, EDGE_POOL } from './edge-fleet.ts';
import { flagOption, intOption, stringOption } from './lib/options.ts';
import { cpuSeconds, machineDescription, treeCpuSeconds } from './lib/proc.ts';
import { ForwardingProxy, freeUdpPort, Kamailio, Sipp, type SippResult } from './sip-peers.ts';

/**
 * (a) CPU per forwarded call: INVITE/180/200/ACK/BYE/200 from a SIPp UAC through a proxy to a SIPp
 * UAS; the edge, then Kamailio as a stateful record-routing proxy, same call count and rate.
 * CPU-seconds from /proc (Kamailio: every process of its tree).
 *
 * The UAC and the UAS send from different loopback addresses (127.0.0.2, 127.0.0.3), as a phone
 * and a PBX would: the edge's per-source rate limit (200 messages/s) counts each on its own. The
 * edge is measured at `--rate` (default 50 calls/s: 150 messages/s from each side); at 200 calls/s
 * it drops the PBX's answers (see bench/README.md). `--core-rate` (default 200) then compares the
 * same SIP core without the limit (src/sip/forwarding-proxy-main.ts) with Kamailio.
 */
const log = (msg: string) => process.stderr.write(`[bench sip-cpu ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const UAC_HOST = '127.0.0.2';
const UAS_HOST = '127.0.0.3';

interface ProxyRun {
  name: string;
  rate: number;
  calls: SippResult;
  cpuSeconds: number;
  wallSeconds: number;
}

async function callsThrough(name: string, target: string, rate: number, calls: number, measure: () => number): Promise<ProxyRun> {
  const before = measure();
  const started = performance.now();
  const uac = await Sipp.start(['-sn', 'uac', '-r', String(rate), '-m', String(calls), '-l', String(rate * 10), '-timeout', `${Math.ceil(calls / rate) + 60}s`, '-timeout_error', target], UAC_HOST);
  const result = await uac.done;
  const wallSeconds = (performance.now() - started) / 1000;
  // Let the last transactions' timers and retransmission absorption finish inside the window.
  await new Promise((r) => setTimeout(r, 1_000));
  const cpu = measure() - before;
  if (result.successful === 0) throw new Error(`${name}: no call succeeded (sipp exit ${result.code}):\n${result.output.slice(-3000)}`);
  log(`${name}: ${result.successful} ok, ${result.failed} failed, ${cpu.toFixed(2)} CPU s`);
  return { name, rate, calls: result, cpuSeconds: cpu, wallSeconds };
}

const perThousand = (r: ProxyRun) => (r.cpuSeconds / Math.max(1, r.calls.successful)) * 1000;

export async function runSipCpuBenchmark(): Promise<void> {
  const rate = intOption('rate', 50);
  const coreRate = intOption('core-rate', 200);
  const calls = intOption('calls', 5000);
  const warmup = intOption('warmup-calls', 500);
  const kamailioChildren = intOption('kamailio-children', 4);
  const profileDir = stringOption('cpu-prof-dir', undefined);
  const edgeAtCoreRate = flagOption('edge-at-core-rate');
  log(`${calls} calls at ${rate}/s through the edge and Kamailio; at ${coreRate}/s through the SIP core and Kamailio (${warmup} warm-up calls each first)`);

  const plane = await startControlPlane();
  const uas = await Sipp.start(['-sn', 'uas', '-timeout', '7200s'], UAS_HOST);
  const upstream = `${UAS_HOST}:${uas.port}`;
  let edge: EdgeProcess | undefined;
  let kamailio: Kamailio | undefined;
  let core: ForwardingProxy | undefined;
  try {
    const ns = 'bench-sip-cpu';
    await createPool(plane.kubeConfig, ns, { host: UAS_HOST, port: uas.port });
    edge = await EdgeProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace: ns, pool: EDGE_POOL, ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) }, await freeUdpPort());
    kamailio = await Kamailio.start({ upstream, children: kamailioChildren });
    core = await ForwardingProxy.start(upstream);
    const edgePid = edge.pid;
    const corePid = core.pid;
    const k = kamailio;
    const targets = {
      // The edge with its provisioning workers, as Kamailio with all its children.
      edge: { target: `127.0.0.1:${edge.sipPort}`, cpu: () => treeCpuSeconds(edgePid) },
      kamailio: { target: `127.0.0.1:${kamailio.port}`, cpu: () => k.cpuSeconds() },
      core: { target: `127.0.0.1:${core.port}`, cpu: () => cpuSeconds(corePid) },
    };
    if (warmup > 0) {
      for (const [name, t] of Object.entries(targets)) await callsThrough(`${name} warm-up`, t.target, rate, warmup, t.cpu);
    }
    const runs: ProxyRun[] = [];
    runs.push(await callsThrough('edge (src/cmd/edge.ts)', targets.edge.target, rate, calls, targets.edge.cpu));
    runs.push(await callsThrough('kamailio (tm + rr)', targets.kamailio.target, rate, calls, targets.kamailio.cpu));
    if (coreRate > 0) {
      runs.push(await callsThrough('SIP core (forwarding-proxy-main.ts)', targets.core.target, coreRate, calls, targets.core.cpu));
      runs.push(await callsThrough('kamailio (tm + rr)', targets.kamailio.target, coreRate, calls, targets.kamailio.cpu));
      if (edgeAtCoreRate) runs.push(await callsThrough('edge (src/cmd/edge.ts)', targets.edge.target, coreRate, calls, targets.edge.cpu));
    }

    const row = (r: ProxyRun) =>
      `| ${r.rate} | ${r.name} | ${r.calls.successful} | ${r.calls.failed} | ${r.wallSeconds.toFixed(1)} | ${r.cpuSeconds.toFixed(2)} | ${perThousand(r).toFixed(3)} |`;
    const ratio = (a: ProxyRun | undefined, b: ProxyRun | undefined) => (a && b ? perThousand(a) / perThousand(b) : Number.NaN);
    const edgeRatio = ratio(runs[0], runs[1]);
    const coreRatio = ratio(runs[2], runs[3]);
    process.stdout.write([
      '',
      `### sip-cpu (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machineDescription()}. ${calls} calls per row (INVITE/180/200/ACK/BYE/200 over UDP, SIPp uac on ${UAC_HOST} → proxy on 127.0.0.1 → SIPp uas on ${UAS_HOST}), after ${warmup} warm-up calls per proxy.`,
      `Kamailio 5.6: ${kamailio.processCount()} processes (children=${kamailioChildren}), CPU summed over all of them. Edge: pool with no devices, calls from an unknown From (forwarded untouched), LOG_LEVEL=info.`,
      '',
      '| calls/s | proxy | successful calls | failed calls | wall s | CPU s | CPU s per 1,000 calls |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
      ...runs.map(row),
      '',
      `Edge / Kamailio at ${rate} calls/s: **${edgeRatio.toFixed(2)}** (target ≤ 3: ${edgeRatio <= 3 ? 'met' : 'missed'}).`,
      ...(coreRate > 0 ? [`SIP core / Kamailio at ${coreRate} calls/s: **${coreRatio.toFixed(2)}**.`] : []),
      '',
    ].join('\n'));
  } finally {
    await edge?.stop().catch(() => undefined);
    await kamailio?.stop().catch(() => undefined);
    await core?.stop().catch(() => undefined);
    uas.kill();
    await plane.stop();
  }
}

if (import.meta.main) await runSipCpuBenchmark();
