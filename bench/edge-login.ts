import { benchDevice, benchExtension, benchIdleAccount, benchPin } from './edge-fleet.ts';
import { withEdgeFleet, type EdgeFleet } from './edge-setup.ts';
import { intOption } from './lib/options.ts';
import { machineDescription } from './lib/proc.ts';
import { FakePbx, Phone } from './sip-phone.ts';

/**
 * (b) Login latency with the whole fleet defined: phones on desks spread over the fleet log users
 * in with `*77*<ext>*` and an RFC 4733 PIN, then out again (`*77*5*`); the time from the last PIN
 * digit leaving the phone to the check-sync NOTIFY arriving at it, and the edge's own histogram
 * hotdesk_login_duration_seconds (last digit seen → NOTIFY sent).
 */
const log = (msg: string) => process.stderr.write(`[bench edge-login ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
export const PHONE_HOST = '127.0.0.4';
export const PBX_HOST = '127.0.0.5';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest rank: the smallest value with at least p % of the samples at or below it.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Quantile of a Prometheus histogram by linear interpolation inside the bucket, as histogram_quantile does. */
function histogramQuantile(text: string, name: string, q: number): { value: number; count: number; mean: number } {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)`, 'gm'))) buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
  const count = Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  const sum = Number(new RegExp(`^${name}_sum(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  buckets.sort((a, b) => a.le - b.le);
  const rank = q * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      const value = b.le === Infinity ? prevLe : prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
      return { value, count, mean: count ? sum / count : Number.NaN };
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return { value: Number.NaN, count, mean: Number.NaN };
}

export async function loginLatency(fleet: EdgeFleet, pbx: FakePbx, opts: { logins: number; warmup: number; phones: number }): Promise<string> {
  const edge = { host: '127.0.0.1', port: fleet.edge.sipPort };
  const desks = Array.from({ length: opts.phones }, (_, k) => Math.floor((k * fleet.devices) / opts.phones) + (k === 0 ? 0 : -1));
  const phones = await Promise.all(desks.map(() => Phone.start({ host: PHONE_HOST, edge, domain: 'bench.example' })));
  try {
    for (const [k, phone] of phones.entries()) {
      const status = await phone.register(benchIdleAccount(desks[k]!));
      if (status !== 200) throw new Error(`REGISTER ${benchIdleAccount(desks[k]!)}: ${status}`);
    }
    // The edge records the binding when the PBX's 200 passes; give it a moment to land.
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    const failures: string[] = [];
    const total = opts.warmup + opts.logins;
    for (let i = 0; i < total; i++) {
      const k = i % phones.length;
      const phone = phones[k]!;
      const idle = benchIdleAccount(desks[k]!);
      const user = i % fleet.users;
      const ext = benchExtension(user);
      let ms = Number.NaN;
      try {
        const loginNotify = phone.nextNotify(60_000);
        loginNotify.catch(() => undefined);
        const login = await phone.dialAndPress(idle, `*77*${ext}*`, benchPin(user));
        const notifiedAt = await loginNotify;
        ms = notifiedAt - login.lastKeyAt;
        if (i >= opts.warmup) latencies.push(ms);
        await login.hangUp();
        // The phone fetches its new file and registers as the user, as a real one would.
        await phone.register(ext);
        const logoutNotify = phone.nextNotify(60_000);
        logoutNotify.catch(() => undefined);
        const logout = await phone.dialAndPress(ext, '*77*5*', '');
        await logoutNotify;
        await logout.hangUp();
      } catch (err) {
        failures.push(`login ${i} (${ext} at ${benchDevice(desks[k]!)}): ${err instanceof Error ? err.message : String(err)}`);
        log(`${failures.at(-1)}\nedge log:\n${fleet.edge.recentLog().slice(-8).join('\n')}`);
        if (failures.length > 5) throw new Error(`too many failed logins:\n${failures.join('\n')}`);
      }
      await phone.register(idle);
      if (i % 10 === 9) log(`${i + 1}/${total} logins; last ${ms.toFixed(0)} ms`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const metrics = await fleet.edge.metricsText();
    const p50 = histogramQuantile(metrics, 'hotdesk_login_duration_seconds', 0.5);
    const p99 = histogramQuantile(metrics, 'hotdesk_login_duration_seconds', 0.99);
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const clientP99 = percentile(sorted, 99);
    return [
      '',
      `### edge-login (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machineDescription()}. ${fleet.devices} devices and ${fleet.users} users defined and rendered (${fleet.settleSeconds.toFixed(0)} s); controller and edge in their own processes, loggedInElsewhere: kick.`,
      `${opts.logins} logins measured after ${opts.warmup} warm-up logins, ${opts.phones} phones on desks ${desks.map((d) => benchDevice(d)).join(', ')}, users rotating over ${fleet.users}; each login followed by the phone re-registering as the user, a logout (*77*5*) and a re-register as the idle account.`,
      '',
      '| measured | logins | p50 ms | p99 ms | mean ms | max ms |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| phone: last PIN digit sent → NOTIFY received | ${sorted.length} | ${percentile(sorted, 50).toFixed(0)} | ${clientP99.toFixed(0)} | ${mean.toFixed(0)} | ${(sorted.at(-1) ?? Number.NaN).toFixed(0)} |`,
      `| edge histogram hotdesk_login_duration_seconds (interpolated in buckets, warm-up included) | ${p50.count} | ${(p50.value * 1000).toFixed(0)} | ${(p99.value * 1000).toFixed(0)} | ${(p50.mean * 1000).toFixed(0)} | |`,
      '',
      `Failed logins: ${failures.length}${failures.length ? ` (${failures.join('; ')})` : ''}.`,
      `Target p99 ≤ 250 ms: ${clientP99 <= 250 ? 'met' : 'missed'} (phone-side p99 ${clientP99.toFixed(0)} ms).`,
      '',
    ].join('\n');
  } finally {
    for (const p of phones) p.close();
  }
}

export async function runEdgeLoginBenchmark(): Promise<void> {
  const devices = intOption('devices', 10_000);
  const users = intOption('users', 20);
  const opts = { logins: intOption('logins', 100), warmup: intOption('warmup-logins', 4), phones: intOption('phones', 2) };
  const pbx = await FakePbx.start(PBX_HOST);
  try {
    const report = await withEdgeFleet({ devices, users, pbx: { host: PBX_HOST, port: pbx.port } }, (fleet) => loginLatency(fleet, pbx, opts));
    process.stdout.write(report);
  } finally {
    pbx.close();
  }
}

if (import.meta.main) await runEdgeLoginBenchmark();
