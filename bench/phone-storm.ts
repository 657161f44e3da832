import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ClientResult, StormConfig } from './provisioning-client.ts';

/**
 * The parent side of the boot-storm load generator: `clients` child processes
 * (bench/provisioning-client.ts) load the fleet, then start together; the server's CPU is read
 * just before they start and once all have finished, so it covers the storm and nothing else.
 */

export interface StormRun {
  ok: number;
  failed: Record<string, number>;
  failedCount: number;
  wallSeconds: number;
  fetchesPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** utime + stime of the server's processes over the run. */
  serverCpuSeconds: number;
  /** The load generators' own CPU over the run. */
  clientCpuSeconds: number;
}

const REPO_ROOT = new URL('../', import.meta.url).pathname;

interface Client {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<ClientResult>;
}

function startClient(configPath: string, firstAccount: number): Client {
  const child = spawn(process.execPath, ['bench/provisioning-client.ts', configPath, String(firstAccount)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  // 'close', not 'exit': by then every line the child wrote has been read.
  const exited = new Promise<never>((_, reject) => child.once('close', (code) => reject(new Error(`load generator exited with ${code}: ${stderr}`))));
  const nextLine = async () => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) return exited;
    return JSON.parse(line.value) as unknown;
  };
  const ready = nextLine().then(() => undefined);
  const result = ready.then(() => nextLine() as Promise<ClientResult>);
  // Rejections are read through ready/result; keep an early one from being reported unhandled.
  exited.catch(() => undefined);
  result.catch(() => undefined);
  return { child, ready, result };
}

const percentile = (sorted: readonly number[], p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

export async function runStorm(config: StormConfig, opts: { configPath: string; clients: number; serverCpuSeconds: () => number }): Promise<StormRun> {
  writeFileSync(opts.configPath, JSON.stringify(config));
  const n = config.accounts.length;
  const clients = Array.from({ length: opts.clients }, (_, k) => startClient(opts.configPath, Math.floor((k * n) / opts.clients)));
  try {
    await Promise.all(clients.map((c) => c.ready));
    const cpuBefore = opts.serverCpuSeconds();
    for (const c of clients) c.child.stdin!.write('go\n');
    const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('load generators did not finish in time')), (config.seconds + 60) * 1000).unref());
    const results = await Promise.race([Promise.all(clients.map((c) => c.result)), guard]);
    const serverCpuSeconds = opts.serverCpuSeconds() - cpuBefore;
    const failed: Record<string, number> = {};
    for (const r of results) for (const [reason, count] of Object.entries(r.failed)) failed[reason] = (failed[reason] ?? 0) + count;
    const ok = results.reduce((s, r) => s + r.ok, 0);
    const wallSeconds = Math.max(...results.map((r) => r.wallMs)) / 1000;
    const latencies = results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    return {
      ok,
      failed,
      failedCount: Object.values(failed).reduce((s, c) => s + c, 0),
      wallSeconds,
      fetchesPerSecond: ok / wallSeconds,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      serverCpuSeconds,
      clientCpuSeconds: results.reduce((s, r) => s + r.cpuMicros, 0) / 1e6,
    };
  } finally {
    for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  }
}
