import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchMac, provisioningPassword } from './edge-fleet.ts';
import { withEdgeFleet, type EdgeFleet } from './edge-setup.ts';
import { forEachBounded } from './lib/bounded.ts';
import { intOption, stringOption } from './lib/options.ts';
import { median } from './lib/stats.ts';
import { machineDescription, processTree, rssKiB, treeCpuSeconds } from './lib/proc.ts';
import { startNginx } from './edge-nginx.ts';

/**
 * (c) Provisioning boot storm: every device fetches its own file with keep-alive off, driven by
 * wrk; then nginx serves the same files (as the edge rendered them, passwords filled in)
 * statically, with the same wrk settings. Requests per second, and the ratio.
 *
 * wrk cannot answer a Digest challenge, so a Lua script sends every request with the
 * Authorization header precomputed for one nonce taken from a first 401; a phone would have made
 * one extra round trip. Since strict Digest (issue 11) that is a replay: a nonce is good only at
 * the process that issued it and each count only once, so after the first answer per device the
 * edge's answers are 401 stale. The storm needs a client that answers challenges (see README).
 */
const log = (msg: string) => process.stderr.write(`[bench edge-provisioning ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const REALM = 'hotdesk';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function digestAuthorization(user: string, password: string, nonce: string, uri: string): string {
  const nc = '00000001';
  const cnonce = 'benchcnonce';
  const ha1 = md5(`${user}:${REALM}:${password}`);
  const ha2 = md5(`GET:${uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="${uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
}

/**
 * One phone's whole fetch: challenged, then answered on the same keep-alive connection, so the
 * answer reaches the provisioning process that issued the nonce (each counts its nonces itself).
 */
async function fetchAsPhone(port: number, path: string, user: string, password: string): Promise<{ status: number; body: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (headers: Record<string, string>) => new Promise<{ status: number; body: string; challenge: string }>((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, challenge: String(res.headers['www-authenticate'] ?? '') }));
    }).on('error', reject);
  });
  try {
    const challenged = await get({});
    const nonce = /nonce="([^"]+)"/.exec(challenged.challenge)?.[1];
    if (challenged.status !== 401 || !nonce) throw new Error(`${path}: expected a Digest challenge, got ${challenged.status}`);
    return await get({ authorization: digestAuthorization(user, password, nonce, path) });
  } finally {
    agent.destroy();
  }
}

/** A wrk script sending request i of the table on its i-th call, round robin, keep-alive off. */
function wrkScript(requests: Array<{ path: string; authorization: string }>): string {
  const rows = requests.map((r) => `{${JSON.stringify(r.path)},${JSON.stringify(r.authorization)}}`).join(',\n');
  return `local reqs = {\n${rows}\n}
local i = 0
local n = #reqs
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  -- Threads start far apart in the table, so no two fetch the same file at the same time.
  i = (id * 7919) % n
end
function request()
  i = (i % n) + 1
  local r = reqs[i]
  return wrk.format("GET", r[1], { ["Host"] = "127.0.0.1", ["Connection"] = "close", ["Authorization"] = r[2] })
end
`;
}

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  socketErrors: string;
  latency: string;
  output: string;
}

export async function runWrk(url: string, script: string, opts: { threads: number; connections: number; seconds: number }): Promise<WrkResult> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}:\n${out}`))));
  });
  const num = (re: RegExp) => Number(re.exec(output)?.[1] ?? 0);
  return {
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    socketErrors: /Socket errors:[^\n]*/.exec(output)?.[0] ?? 'none',
    latency: /Latency Distribution[\s\S]*?99%\s+\S+/.exec(output)?.[0].replace(/\s+/g, ' ') ?? '',
    output,
  };
}

async function nonceFrom(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/${benchMac(0)}.cfg`);
  await res.arrayBuffer();
  const nonce = /nonce="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
  if (res.status !== 401 || !nonce) throw new Error(`expected a Digest challenge, got ${res.status}`);
  return nonce;
}

export async function provisioningStorm(fleet: EdgeFleet, opts: { threads: number; connections: number; seconds: number; rounds: number; nginxWorkers: string[] }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-provisioning-'));
  try {
    const port = fleet.edge.httpPort;
    const nonce = await nonceFrom(port);
    const requests = Array.from({ length: fleet.devices }, (_, i) => {
      const path = `/${benchMac(i)}.cfg`;
      return { path, mac: benchMac(i), password: provisioningPassword(i), authorization: digestAuthorization(benchMac(i), provisioningPassword(i), nonce, path) };
    });
    // The files nginx serves are the edge's own answers: same bytes, passwords filled in.
    const root = join(dir, 'www');
    mkdirSync(root);
    // nginx's workers drop to an unprivileged user when started as root: they must read the files.
    chmodSync(dir, 0o755);
    chmodSync(root, 0o755);
    log(`fetching the ${requests.length} rendered files once for nginx`);
    let bytes = 0;
    await forEachBounded(requests, 16, async (r) => {
      const { status, body } = await fetchAsPhone(port, r.path, r.mac, r.password);
      if (status !== 200) throw new Error(`${r.path}: ${status} ${body}`);
      bytes += Buffer.byteLength(body);
      writeFileSync(join(root, r.path.slice(1)), body);
    });
    const script = join(dir, 'storm.lua');
    writeFileSync(script, wrkScript(requests));

    const edgeProcesses = processTree(fleet.edge.pid).length;
    // Rounds of edge, then each nginx, back to back: the machine is shared, and a ratio taken
    // within a round and then the median over rounds is steadier than one run of each.
    const rounds: Array<{ edge: WrkResult; edgeCpu: number; nginx: Array<{ workers: string; run: WrkResult }> }> = [];
    let edgeRss: string[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const edgeCpuBefore = treeCpuSeconds(fleet.edge.pid);
      log(`round ${round}/${opts.rounds}: wrk against the edge: ${opts.connections} connections, ${opts.seconds} s, keep-alive off`);
      const edge = await runWrk(`http://127.0.0.1:${port}/`, script, opts);
      const edgeCpu = treeCpuSeconds(fleet.edge.pid) - edgeCpuBefore;
      edgeRss = processTree(fleet.edge.pid).map((pid) => `${(rssKiB(pid) / 1024).toFixed(0)} MB`);
      if (edge.non2xx > 0) log(`the edge answered ${edge.non2xx} requests with an error`);
      const nginxRuns: Array<{ workers: string; run: WrkResult }> = [];
      for (const workers of opts.nginxWorkers) {
        const nginx = await startNginx(root, join(dir, `nginx-${workers}-${round}`), workers);
        try {
          log(`round ${round}/${opts.rounds}: wrk against nginx (worker_processes ${workers})`);
          const run = await runWrk(`http://127.0.0.1:${nginx.port}/`, script, opts);
          if (run.non2xx > 0) throw new Error(`nginx answered ${run.non2xx} requests with an error: ${run.output}`);
          nginxRuns.push({ workers, run });
        } finally {
          await nginx.stop();
        }
      }
      rounds.push({ edge, edgeCpu, nginx: nginxRuns });
    }
    const row = (round: number, name: string, r: WrkResult) => `| ${round} | ${name} | ${r.requestsPerSecond.toFixed(0)} | ${r.requests} | ${r.non2xx} | ${r.socketErrors} | ${r.latency.replace('Latency Distribution ', '')} |`;
    const ratios = opts.nginxWorkers.map((workers) => {
      const perRound = rounds.map((r) => r.edge.requestsPerSecond / r.nginx.find((n) => n.workers === workers)!.run.requestsPerSecond);
      const mid = median(perRound);
      return `Edge / nginx (worker_processes ${workers}), median of ${perRound.length} rounds: **${mid.toFixed(2)}** (rounds: ${perRound.map((x) => x.toFixed(2)).join(', ')}; target ≥ 0.5: ${mid >= 0.5 ? 'met' : 'missed'}).`;
    });
    const edgeCpu = median(rounds.map((r) => r.edgeCpu));
    return [
      '',
      `### edge-provisioning (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machineDescription()}. ${fleet.devices} devices (Yealink T54W), ${fleet.users} users; the fleet rendered in ${fleet.settleSeconds.toFixed(0)} s; the edge started in ${fleet.edgeStartSeconds.toFixed(1)} s.`,
      `${opts.rounds} rounds of wrk -t${opts.threads} -c${opts.connections} -d${opts.seconds}s against the edge and then each nginx, "Connection: close", each request a different device's file (round robin over all ${fleet.devices}), Digest Authorization precomputed; mean file ${(bytes / requests.length).toFixed(0)} bytes.`,
      `Edge: ${edgeProcesses} processes (the SIP process and ${edgeProcesses - 1} provisioning workers, HOTDESK_PROVISIONING_WORKERS=${process.env.HOTDESK_PROVISIONING_WORKERS ?? 'default'}), LOG_LEVEL=info (one access-log line per request), Secret cache 10 s; edge CPU during a run (median), all processes, ${edgeCpu.toFixed(1)} s (${((edgeCpu / opts.seconds) * 100).toFixed(0)} % of one core); resident memory after the last run, SIP process first, ${edgeRss.join(', ')}. nginx: access_log on, sendfile on.`,
      '',
      '| round | server | req/s | requests | non-2xx | socket errors | latency p50 / p75 / p90 / p99 |',
      '| ---: | --- | ---: | ---: | ---: | --- | --- |',
      ...rounds.flatMap((r, i) => [row(i + 1, 'edge', r.edge), ...r.nginx.map(({ workers, run }) => row(i + 1, `nginx, worker_processes ${workers}`, run))]),
      '',
      ...ratios,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runEdgeProvisioningBenchmark(): Promise<void> {
  const devices = intOption('devices', 10_000);
  const opts = { threads: intOption('wrk-threads', 2), connections: intOption('wrk-connections', 50), seconds: intOption('seconds', 20), rounds: intOption('rounds', 3), nginxWorkers: ['1', 'auto'] };
  const report = await withEdgeFleet({ devices, users: 2, pbx: { host: '127.0.0.1', port: 5060 }, edgeCpuProfileDir: stringOption('cpu-prof-dir', undefined) }, (fleet) => provisioningStorm(fleet, opts));
  process.stdout.write(report);
}

if (import.meta.main) await runEdgeProvisioningBenchmark();
