import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchMac, provisioningPassword } from './edge-fleet.ts';
import { withEdgeFleet, type EdgeFleet } from './edge-setup.ts';
import { startNginx } from './edge-nginx.ts';
import { forEachBounded } from './lib/bounded.ts';
import { intOption, stringOption } from './lib/options.ts';
import { cpuSeconds, machineDescription, processTree, rssKiB, treeCpuSeconds } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { fetchAsPhone, type PhoneAccount } from './phone-fetch.ts';
import { runStorm, type StormRun } from './phone-storm.ts';
import type { StormConfig } from './provisioning-client.ts';

/**
 * (c) Provisioning boot storm: phones fetch their files as phones do (connect, GET → 401 with a
 * Digest challenge, GET with the answer on the same connection → 200 and the file, close), each
 * fetch a different device, round robin over the fleet, from Node load generators in child
 * processes (bench/provisioning-client.ts). Then nginx serves the same files to the same client
 * doing the same two requests (a 401 with a challenge when there is no Authorization header, the
 * file when there is one; nginx does not check the answer).
 *
 * Reported per run: fetches per second, and the server's CPU per fetch (utime + stime of all its
 * processes from /proc, over the run). The load generators share the 2 cores with the servers, so
 * fetches per second is bound by the client as well; CPU per fetch is not, and its ratio is the
 * steadier figure. Every fetch must end 200 with exactly the expected file; the rest are counted
 * by reason.
 */
const log = (msg: string) => process.stderr.write(`[bench edge-provisioning ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

export interface StormOptions {
  seconds: number;
  /** A storm against the edge before the rounds, unmeasured, so they find its code compiled. */
  warmupSeconds: number;
  rounds: number;
  /** Load generator processes. */
  clients: number;
  /** Fetches in flight, over all load generators. */
  connections: number;
  nginxWorkers: string[];
}

interface Round {
  edge: StormRun;
  /** The edge's SIP process's own share of edge.serverCpuSeconds (the rest is its workers'). */
  edgeSipProcessCpu: number;
  nginx: Array<{ workers: string; run: StormRun }>;
}

const micros = (run: StormRun, cpu: number) => (cpu / Math.max(1, run.ok)) * 1e6;
const serverMicros = (run: StormRun) => micros(run, run.serverCpuSeconds);
const clientMicros = (run: StormRun) => micros(run, run.clientCpuSeconds);
const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(', ');

function failures(run: StormRun): string {
  const entries = Object.entries(run.failed);
  return entries.length === 0 ? '' : entries.map(([reason, count]) => `${count} × ${reason}`).join('; ');
}

export async function provisioningStorm(fleet: EdgeFleet, opts: StormOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-provisioning-'));
  try {
    const port = fleet.edge.httpPort;
    const accounts: PhoneAccount[] = Array.from({ length: fleet.devices }, (_, i) => ({ path: `/${benchMac(i)}.cfg`, username: benchMac(i), password: provisioningPassword(i) }));
    // The files nginx serves, and every fetch is checked against, are the edge's own answers: same
    // bytes, passwords filled in.
    const root = join(dir, 'www');
    mkdirSync(root);
    // nginx's workers drop to an unprivileged user when started as root: they must read the files.
    chmodSync(dir, 0o755);
    chmodSync(root, 0o755);
    log(`fetching the ${accounts.length} rendered files once, as phones`);
    let bytes = 0;
    await forEachBounded(accounts, 16, async (account) => {
      const outcome = await fetchAsPhone({ host: '127.0.0.1', port }, account, 30_000);
      if (!outcome.ok) throw new Error(`${account.path}: ${outcome.reason}`);
      bytes += outcome.body.length;
      writeFileSync(join(root, account.path.slice(1)), outcome.body);
    });

    const perClient = Math.max(1, Math.round(opts.connections / opts.clients));
    const config = (serverPort: number): StormConfig => ({ host: '127.0.0.1', port: serverPort, seconds: opts.seconds, connections: perClient, fetchTimeoutMs: 10_000, accounts, expectedDir: root, firstAccount: 0 });
    const storm = (serverPort: number, serverPid: number) =>
      runStorm(config(serverPort), { configPath: join(dir, 'storm.json'), clients: opts.clients, serverCpuSeconds: () => treeCpuSeconds(serverPid) });

    const edgeProcesses = processTree(fleet.edge.pid).length;
    // What the edge spends with nothing to serve, which its per-fetch figure includes.
    const idleSeconds = 5;
    const idleBefore = treeCpuSeconds(fleet.edge.pid);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const edgeIdleShare = (treeCpuSeconds(fleet.edge.pid) - idleBefore) / idleSeconds;
    if (opts.warmupSeconds > 0) {
      log(`warm-up: the edge, ${opts.warmupSeconds} s`);
      const warm = await runStorm({ ...config(port), seconds: opts.warmupSeconds }, { configPath: join(dir, 'storm.json'), clients: opts.clients, serverCpuSeconds: () => 0 });
      if (warm.failedCount > 0) log(`warm-up: failed ${failures(warm)}`);
    }
    const loadBefore = loadNow();
    // Rounds of the edge, then each nginx, back to back: the machine is shared, and a ratio taken
    // within a round and then the median over rounds is steadier than one run of each.
    const rounds: Round[] = [];
    let edgeRss: string[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      log(`round ${round}/${opts.rounds}: the edge, ${opts.clients} load generators × ${perClient} phones, ${opts.seconds} s (load ${loadNow()})`);
      const sipProcessBefore = cpuSeconds(fleet.edge.pid);
      const edge = await storm(port, fleet.edge.pid);
      const edgeSipProcessCpu = cpuSeconds(fleet.edge.pid) - sipProcessBefore;
      edgeRss = processTree(fleet.edge.pid).map((pid) => `${(rssKiB(pid) / 1024).toFixed(0)} MB`);
      log(`edge: ${edge.ok} fetches, ${edge.fetchesPerSecond.toFixed(0)}/s, ${serverMicros(edge).toFixed(0)} µs server CPU per fetch${edge.failedCount > 0 ? `; failed: ${failures(edge)}` : ''}`);
      const nginxRuns: Round['nginx'] = [];
      for (const workers of opts.nginxWorkers) {
        const nginx = await startNginx(root, join(dir, `nginx-${workers}-${round}`), workers);
        try {
          log(`round ${round}/${opts.rounds}: nginx (worker_processes ${workers})`);
          const run = await storm(nginx.port, nginx.pid);
          log(`nginx ${workers}: ${run.ok} fetches, ${run.fetchesPerSecond.toFixed(0)}/s, ${serverMicros(run).toFixed(0)} µs server CPU per fetch${run.failedCount > 0 ? `; failed: ${failures(run)}` : ''}`);
          nginxRuns.push({ workers, run });
        } finally {
          await nginx.stop();
        }
      }
      rounds.push({ edge, edgeSipProcessCpu, nginx: nginxRuns });
    }
    const loadAfter = loadNow();

    const row = (round: number, name: string, r: StormRun) =>
      `| ${round} | ${name} | ${r.fetchesPerSecond.toFixed(0)} | ${r.ok} | ${r.failedCount}${r.failedCount > 0 ? ` (${failures(r)})` : ''} | ${r.serverCpuSeconds.toFixed(2)} | ${serverMicros(r).toFixed(0)} | ${clientMicros(r).toFixed(0)} | ${r.latencyMs.p50.toFixed(1)} / ${r.latencyMs.p99.toFixed(1)} ms |`;
    const ratios = opts.nginxWorkers.flatMap((workers) => {
      const nginxOf = (r: Round) => r.nginx.find((n) => n.workers === workers)!.run;
      const rate = rounds.map((r) => r.edge.fetchesPerSecond / nginxOf(r).fetchesPerSecond);
      const cpu = rounds.map((r) => serverMicros(r.edge) / serverMicros(nginxOf(r)));
      const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
      return [
        `Against nginx with worker_processes ${workers}, medians of ${rounds.length} rounds: fetches/s edge ÷ nginx **${median(rate).toFixed(2)}** (rounds ${list(rate)}; bound by the load generators and the machine as much as by the servers); ` +
          `server CPU per fetch edge ÷ nginx **${median(cpu).toFixed(2)}** (rounds ${list(cpu)}; the target, fetches/s ≥ 0.5 × nginx's for servers bound by their own CPU, reads ≤ 2 here: ${median(cpu) <= 2 ? 'met' : 'missed'}).`,
      ];
    });
    const edgeFailed = rounds.reduce((s, r) => s + r.edge.failedCount, 0);
    const sipShare = median(rounds.map((r) => r.edgeSipProcessCpu / r.edge.serverCpuSeconds));
    return [
      '',
      `### edge-provisioning (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machineDescription()}; load average (1, 5, 15 min) ${loadBefore} before the storms, ${loadAfter} after. ${fleet.devices} devices (Yealink T54W), ${fleet.users} users; the fleet rendered in ${fleet.settleSeconds.toFixed(0)} s; the edge started in ${fleet.edgeStartSeconds.toFixed(1)} s.`,
      `A ${opts.warmupSeconds} s unmeasured storm against the edge first, then ${opts.rounds} rounds of ${opts.seconds} s against the edge and then each nginx; ${opts.clients} Node load generators × ${perClient} phones in flight; each fetch a new connection for the next device (round robin over all ${fleet.devices}): GET → 401 + challenge, GET with the Digest answer on the same connection (Connection: close) → 200, checked byte for byte; mean file ${(bytes / accounts.length).toFixed(0)} bytes.`,
      `Edge: ${edgeProcesses} processes (the SIP process and ${edgeProcesses - 1} provisioning workers, HOTDESK_PROVISIONING_WORKERS=${process.env.HOTDESK_PROVISIONING_WORKERS ?? 'default'}), LOG_LEVEL=info (an access-log line per request), to a file; idle, all its processes used ${(edgeIdleShare * 100).toFixed(1)} % of a core; during the storms its SIP process took ${(sipShare * 100).toFixed(0)} % of its CPU (median), the workers the rest; resident memory after the last run, SIP process first, ${edgeRss.join(', ')}. nginx: access_log on, sendfile on, 401 with the same two challenges without an Authorization header, the file with one (the answer is not checked).`,
      'Server CPU: utime + stime of all the server\'s processes (the edge\'s SIP process and workers; nginx\'s master and workers), over the run. Client CPU: the load generators\' own.',
      '',
      '| round | server | fetches/s | fetches ok | failed | server CPU s | server CPU µs / fetch | client CPU µs / fetch | fetch latency p50 / p99 |',
      '| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |',
      ...rounds.flatMap((r, i) => [row(i + 1, 'edge', r.edge), ...r.nginx.map(({ workers, run }) => row(i + 1, `nginx, worker_processes ${workers}`, run))]),
      '',
      ...ratios,
      ...(edgeFailed > 0 ? ['', `**The edge failed ${edgeFailed} fetches** (reasons in the table).`] : []),
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function stormOptions(): StormOptions {
  return {
    seconds: intOption('seconds', 20),
    warmupSeconds: intOption('warmup-seconds', 5),
    rounds: intOption('rounds', 3),
    clients: intOption('clients', 2),
    connections: intOption('connections', 50),
    nginxWorkers: stringOption('nginx-workers', '1,auto').split(',').filter((w) => w !== ''),
  };
}

export async function runEdgeProvisioningBenchmark(): Promise<void> {
  const devices = intOption('devices', 10_000);
  const report = await withEdgeFleet({ devices, users: 2, pbx: { host: '127.0.0.1', port: 5060 }, edgeCpuProfileDir: stringOption('cpu-prof-dir', undefined) }, (fleet) => provisioningStorm(fleet, stormOptions()));
  process.stdout.write(report);
}

if (import.meta.main) await runEdgeProvisioningBenchmark();
