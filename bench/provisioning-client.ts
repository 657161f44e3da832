import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fetchAsPhone, type PhoneAccount } from './phone-fetch.ts';

/**
 * A boot-storm load generator, run as a child process of bench/edge-provisioning.ts (see
 * phone-storm.ts, its other side): `connections` phones fetch at once, each fetch a new
 * connection for the next device of the fleet, round robin from this client's starting point.
 * Every file received is compared byte for byte with the one expected.
 *
 * Protocol on stdio: a `{"ready":true}` line once the fleet is loaded; then, on a `go` line on
 * stdin, fetch for `seconds`, let the fetches in flight finish, print one JSON line of results
 * (ClientResult) and exit.
 */

export interface StormConfig {
  host: string;
  port: number;
  seconds: number;
  /** Fetches in flight in this client. */
  connections: number;
  /** Fetches that do not finish in this long fail with a timeout. */
  fetchTimeoutMs: number;
  /** The fleet, in order. */
  accounts: PhoneAccount[];
  /** Directory holding each expected file under its path's name. */
  expectedDir: string;
  /** This client starts at this index of the fleet. */
  firstAccount: number;
}

export interface ClientResult {
  ok: number;
  /** Failed fetches by reason. */
  failed: Record<string, number>;
  /** From `go` until the last fetch in flight finished. */
  wallMs: number;
  /** Fetch latencies in ms (connect → file received), successful fetches only. */
  latenciesMs: number[];
  /** This process's own user + system CPU over the run, µs. */
  cpuMicros: number;
}

/** The files the fleet must receive, in the fleet's order. */
export function loadExpectedFiles(config: StormConfig): Buffer[] {
  return config.accounts.map((a) => readFileSync(join(config.expectedDir, a.path.slice(1))));
}

export async function runStormClient(config: StormConfig, expected: readonly Buffer[]): Promise<ClientResult> {
  const n = config.accounts.length;
  let next = config.firstAccount % n;
  let ok = 0;
  const failed: Record<string, number> = {};
  const latenciesMs: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + config.seconds * 1000;
  const phone = async () => {
    while (performance.now() < deadline) {
      const i = next;
      next = (next + 1) % n;
      const t0 = performance.now();
      const outcome = await fetchAsPhone(config, config.accounts[i]!, config.fetchTimeoutMs);
      if (outcome.ok && outcome.body.equals(expected[i]!)) {
        ok++;
        latenciesMs.push(Math.round((performance.now() - t0) * 100) / 100);
      } else {
        const reason = outcome.ok ? `200 with the wrong file (${outcome.body.length} bytes, expected ${expected[i]!.length})` : outcome.reason;
        failed[reason] = (failed[reason] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: config.connections }, phone));
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { ok, failed, wallMs, latenciesMs, cpuMicros: cpu.user + cpu.system };
}

if (import.meta.main) {
  const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StormConfig;
  config.firstAccount = Number(process.argv[3] ?? 0);
  if (config.accounts.length === 0) throw new Error('no accounts');
  // Loaded before saying ready, so the measured window holds fetching only.
  const expected = loadExpectedFiles(config);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== 'go') continue;
    const result = await runStormClient(config, expected);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    break;
  }
  lines.close();
}
