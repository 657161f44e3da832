import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../src/envtest/controlplane.ts';
import { EdgeProcess } from './edge-process.ts';
import { createPool, EDGE_POOL } from './edge-fleet.ts';
import { flagOption, intOption, stringOption } from './lib/options.ts';
import { cpuSeconds, machineDescription, treeCpuSeconds } from './lib/proc.ts';
import { ForwardingProxy, freeUdpPort, Kamailio, Sipp, type SippResult } from './sip-peers.ts';
import { FakePbx } from './sip-phone.ts';

/**
 * (a) CPU per forwarded call: INVITE/180/200/ACK/BYE/200 from a SIPp UAC through a proxy to a SIPp
 * UAS; the edge, then Kamailio as a stateful record-routing proxy, then Kamailio doing the NAT
 * work the edge does too (force_rport, fix_nated_contact), same call count and rate.
 * CPU-seconds from /proc (Kamailio: every process of its tree).
 *
 * The UAC and the UAS send from different loopback addresses (127.0.0.2, 127.0.0.3), as a phone
 * and a PBX would: the edge's per-source rate limit (200 messages/s) counts each on its own. The
 * edge is measured at `--rate` (default 50 calls/s: 150 messages/s from each side); at 200 calls/s
 * it drops the PBX's answers (see bench/README.md). `--core-rate` (default 200) then compares the
 * same SIP core without the limit (src/sip/forwarding-proxy-main.ts) with both Kamailios.
 */
const log = (msg: string) => process.stderr.write(`[bench sip-cpu ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const UAC_HOST = '127.0.0.2';
const REGISTER_HOST = '127.0.0.4';
const REGISTRAR_HOST = '127.0.0.5';
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const UAS_HOST = '127.0.0.3';

interface ProxyRun {
  name: string;
  rate: number;
  calls: SippResult;
  cpuSeconds: number;
  wallSeconds: number;
}

/** SIPp's scenario for a call (the default), or for one phone registering from a port of its own. */
const CALL = { args: ['-sn', 'uac'], host: UAC_HOST };
const REGISTER = { args: ['-sf', join(FIXTURES, 'sipp-register.xml'), '-t', 'un', '-max_socket', '2000'], host: REGISTER_HOST };

async function callsThrough(name: string, target: string, rate: number, calls: number, measure: () => number, scenario = CALL): Promise<ProxyRun> {
  const before = measure();
  const started = performance.now();
  const uac = await Sipp.start([...scenario.args, '-r', String(rate), '-m', String(calls), '-l', String(rate * 10), '-timeout', `${Math.ceil(calls / rate) + 60}s`, '-timeout_error', target], scenario.host);
  const result = await uac.done;
  const wallSeconds = (performance.now() - started) / 1000;
  // Let the last transactions' timers and retransmission absorption finish inside the window.
  await new Promise((r) => setTimeout(r, 1_000));
  const cpu = measure() - before;
  if (result.successful === 0) throw new Error(`${name}: no call succeeded (sipp exit ${result.code}):\n${result.output.slice(-3000)}`);
  log(`${name}: ${result.successful} ok, ${result.failed} failed, ${cpu.toFixed(2)} CPU s`);
  return { name, rate, calls: result, cpuSeconds: cpu, wallSeconds };
}

/**
 * REGISTER rate: phones (each REGISTER from a port of its own) registering through the edge, once
 * per pbx.phoneRouting mode (path: a Path with a flow token added; contact: the Contact replaced by
 * the edge's URI with the token, and the phone's own put back in the 2xx), and through Kamailio
 * with nathelper and path (force_rport, fix_nated_contact, add_path_received). A Node stand-in
 * registrar in this process answers 200 with the Contact it got. The identities are no desk's, so
 * the edge writes no device status: the rows compare the SIP work alone.
 */
async function registerRows(plane: ControlPlane, opts: { registers: number; rate: number; warmup: number; kamailioChildren: number }): Promise<ProxyRun[]> {
  const registrar = await FakePbx.start(REGISTRAR_HOST);
  const edges: Array<{ mode: 'path' | 'contact'; edge: EdgeProcess }> = [];
  let kamailio: Kamailio | undefined;
  try {
    for (const mode of ['path', 'contact'] as const) {
      const ns = `bench-sip-cpu-register-${mode}`;
      await createPool(plane.kubeConfig, ns, { host: REGISTRAR_HOST, port: registrar.port, phoneRouting: mode });
      edges.push({ mode, edge: await EdgeProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace: ns, pool: EDGE_POOL }, await freeUdpPort()) });
    }
    kamailio = await Kamailio.start({ upstream: `${REGISTRAR_HOST}:${registrar.port}`, children: opts.kamailioChildren, config: 'kamailio-nat-proxy.cfg' });
    const k = kamailio;
    const targets = [
      ...edges.map(({ mode, edge }) => ({ name: `REGISTER: edge, phoneRouting ${mode}`, target: `127.0.0.1:${edge.sipPort}`, cpu: () => treeCpuSeconds(edge.pid) })),
      { name: 'REGISTER: kamailio (tm + nathelper + path)', target: `127.0.0.1:${k.port}`, cpu: () => k.cpuSeconds() },
    ];
    if (opts.warmup > 0) for (const t of targets) await callsThrough(`${t.name} warm-up`, t.target, opts.rate, opts.warmup, t.cpu, REGISTER);
    const runs: ProxyRun[] = [];
    for (const t of targets) runs.push(await callsThrough(t.name, t.target, opts.rate, opts.registers, t.cpu, REGISTER));
    return runs;
  } finally {
    for (const { edge } of edges) await edge.stop().catch(() => undefined);
    await kamailio?.stop().catch(() => undefined);
    registrar.close();
  }
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
  const registers = intOption('registers', 3000);
  const registerRate = intOption('register-rate', 100);
  const warmupRegisters = intOption('warmup-registers', 300);
  if (calls > 0) log(`${calls} calls at ${rate}/s through the edge and both Kamailio configurations; at ${coreRate}/s through the SIP core and both Kamailio configurations (${warmup} warm-up calls each first)`);
  if (registers > 0) log(`${registers} REGISTERs at ${registerRate}/s through the edge (path, contact) and Kamailio with nathelper (${warmupRegisters} warm-up REGISTERs each first)`);
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(', ');

  const plane = await startControlPlane();
  const uas = await Sipp.start(['-sn', 'uas', '-timeout', '7200s'], UAS_HOST);
  const upstream = `${UAS_HOST}:${uas.port}`;
  let edge: EdgeProcess | undefined;
  let kamailio: Kamailio | undefined;
  let kamailioNat: Kamailio | undefined;
  let core: ForwardingProxy | undefined;
  try {
    const ns = 'bench-sip-cpu';
    await createPool(plane.kubeConfig, ns, { host: UAS_HOST, port: uas.port });
    edge = await EdgeProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace: ns, pool: EDGE_POOL, ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) }, await freeUdpPort());
    kamailio = await Kamailio.start({ upstream, children: kamailioChildren });
    kamailioNat = await Kamailio.start({ upstream, children: kamailioChildren, config: 'kamailio-nat-proxy.cfg' });
    core = await ForwardingProxy.start(upstream);
    const edgePid = edge.pid;
    const corePid = core.pid;
    const k = kamailio;
    const kn = kamailioNat;
    const targets = {
      // The edge with its provisioning workers, as Kamailio with all its children.
      edge: { name: 'edge (src/cmd/edge.ts)', target: `127.0.0.1:${edge.sipPort}`, cpu: () => treeCpuSeconds(edgePid) },
      kamailio: { name: 'kamailio (tm + rr)', target: `127.0.0.1:${kamailio.port}`, cpu: () => k.cpuSeconds() },
      kamailioNat: { name: 'kamailio (tm + rr + nathelper)', target: `127.0.0.1:${kamailioNat.port}`, cpu: () => kn.cpuSeconds() },
      core: { name: 'SIP core (forwarding-proxy-main.ts)', target: `127.0.0.1:${core.port}`, cpu: () => cpuSeconds(corePid) },
    };
    type Target = (typeof targets)[keyof typeof targets];
    const through = (t: Target, atRate: number, count: number, label = t.name) => callsThrough(label, t.target, atRate, count, t.cpu);
    const row = (r: ProxyRun) =>
      `| ${r.rate} | ${r.name} | ${r.calls.successful} | ${r.calls.failed} | ${r.wallSeconds.toFixed(1)} | ${r.cpuSeconds.toFixed(2)} | ${perThousand(r).toFixed(3)} |`;
    const ratio = (a: ProxyRun, b: ProxyRun) => perThousand(a) / perThousand(b);
    const verdict = (x: number) => `target ≤ 3: ${x <= 3 ? 'met' : 'missed'}`;
    const lines: string[] = [];
    if (calls > 0) {
      if (warmup > 0) {
        for (const t of Object.values(targets)) await through(t, rate, warmup, `${t.name} warm-up`);
      }
      const atRate = { edge: await through(targets.edge, rate, calls), kamailio: await through(targets.kamailio, rate, calls), kamailioNat: await through(targets.kamailioNat, rate, calls) };
      const atCoreRate = coreRate > 0
        ? { core: await through(targets.core, coreRate, calls), kamailio: await through(targets.kamailio, coreRate, calls), kamailioNat: await through(targets.kamailioNat, coreRate, calls), edge: edgeAtCoreRate ? await through(targets.edge, coreRate, calls) : undefined }
        : undefined;
      const runs: ProxyRun[] = [atRate.edge, atRate.kamailio, atRate.kamailioNat, ...(atCoreRate ? [atCoreRate.core, atCoreRate.kamailio, atCoreRate.kamailioNat, ...(atCoreRate.edge ? [atCoreRate.edge] : [])] : [])];
      const edgeRatio = ratio(atRate.edge, atRate.kamailio);
      const edgeNatRatio = ratio(atRate.edge, atRate.kamailioNat);
      lines.push(
        `${calls} calls per row (INVITE/180/200/ACK/BYE/200 over UDP, SIPp uac on ${UAC_HOST} → proxy on 127.0.0.1 → SIPp uas on ${UAS_HOST}), after ${warmup} warm-up calls per proxy.`,
        `Kamailio 5.6, each configuration ${kamailio.processCount()} processes (children=${kamailioChildren}), CPU summed over all of them: tm + rr is bench/fixtures/kamailio-proxy.cfg; tm + rr + nathelper is bench/fixtures/kamailio-nat-proxy.cfg (force_rport on every request, fix_nated_contact on INVITEs and their 1xx/2xx answers, record_route, t_relay). Edge: pool with no devices, calls from an unknown From (forwarded untouched), LOG_LEVEL=info, CPU summed over its SIP process and provisioning workers.`,
        '',
        '| calls/s | proxy | successful calls | failed calls | wall s | CPU s | CPU s per 1,000 calls |',
        '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
        ...runs.map(row),
        '',
        `Edge ÷ Kamailio (tm + rr + nathelper) at ${rate} calls/s: **${edgeNatRatio.toFixed(2)}** (${verdict(edgeNatRatio)}); edge ÷ Kamailio (tm + rr): **${edgeRatio.toFixed(2)}** (${verdict(edgeRatio)}).`,
        ...(atCoreRate ? [`SIP core ÷ Kamailio at ${coreRate} calls/s: **${ratio(atCoreRate.core, atCoreRate.kamailioNat).toFixed(2)}** against tm + rr + nathelper, **${ratio(atCoreRate.core, atCoreRate.kamailio).toFixed(2)}** against tm + rr.`] : []),
        '',
      );
    }
    if (registers > 0) {
      const reg = await registerRows(plane, { registers, rate: registerRate, warmup: warmupRegisters, kamailioChildren });
      const kam = reg[reg.length - 1]!;
      lines.push(
        `REGISTER rate: ${registers} REGISTERs per row at ${registerRate}/s (SIPp bench/fixtures/sipp-register.xml on ${REGISTER_HOST}, -t un: each REGISTER from a port of its own, a phone user of its own) → proxy → a Node stand-in registrar on ${REGISTRAR_HOST} answering 200 with the Contact it got; ${warmupRegisters} warm-up REGISTERs per proxy. Edge: one pool and edge process per pbx.phoneRouting mode, identities that are no desk's (no status write). Kamailio: kamailio-nat-proxy.cfg (force_rport, fix_nated_contact, add_path_received, t_relay).`,
        '',
        '| REGISTERs/s | proxy | answered 200 | failed | wall s | CPU s | CPU s per 1,000 REGISTERs |',
        '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
        ...reg.map(row),
        '',
        ...reg.slice(0, -1).map((r) => `${r.name} ÷ Kamailio (tm + nathelper + path): **${ratio(r, kam).toFixed(2)}** (${verdict(ratio(r, kam))}).`),
        '',
      );
    }
    process.stdout.write([
      '',
      `### sip-cpu (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machineDescription()}; load average (1, 5, 15 min) ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(', ')} after.`,
      ...lines,
    ].join('\n'));
  } finally {
    await edge?.stop().catch(() => undefined);
    await kamailio?.stop().catch(() => undefined);
    await kamailioNat?.stop().catch(() => undefined);
    await core?.stop().catch(() => undefined);
    uas.kill();
    await plane.stop();
  }
}

if (import.meta.main) await runSipCpuBenchmark();
