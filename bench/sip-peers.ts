import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { processTree, treeCpuSeconds } from './lib/proc.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  const port = await new Promise<number>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Kamailio as a stateful, record-routing proxy on loopback: bench/fixtures/kamailio-proxy.cfg by
 * default, or another configuration there with the same placeholders (kamailio-nat-proxy.cfg).
 */
export class Kamailio {
  readonly port: number;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private output = '';

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.child = child;
    this.port = port;
    this.dir = dir;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(opts: { upstream: string; children: number; config?: string }): Promise<Kamailio> {
    const port = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'bench-kamailio-'));
    const cfg = readFileSync(join(FIXTURES, opts.config ?? 'kamailio-proxy.cfg'), 'utf8')
      .replaceAll('@LISTEN@', `127.0.0.1:${port}`)
      .replaceAll('@UPSTREAM@', opts.upstream)
      .replaceAll('@CHILDREN@', String(opts.children))
      .replaceAll('@MODULES@', KAMAILIO_MODULES);
    writeFileSync(join(dir, 'kamailio.cfg'), cfg);
    // -DD: stay in the foreground but fork the worker processes, as in production.
    const child = spawn('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-m', '128', '-M', '16', '-Y', dir, '-w', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    const k = new Kamailio(child, port, dir);
    await k.waitReady();
    return k;
  }

  /** Ready when it answers an OPTIONS (404 from our route, or any reply). */
  private async waitReady(): Promise<void> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        if (this.child.exitCode !== null) throw new Error(`kamailio exited with ${this.child.exitCode}:\n${this.output}`);
        if (Date.now() > deadline) throw new Error(`kamailio not answering after 15 s:\n${this.output}`);
        const local = sock.address().port;
        const probe = [
          `OPTIONS sip:probe@127.0.0.1:${this.port} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-probe-${Date.now()}`,
          'Max-Forwards: 0',
          `From: <sip:bench@127.0.0.1>;tag=probe`,
          `To: <sip:probe@127.0.0.1>;tag=probe-to`,
          `Call-ID: probe-${Date.now()}@bench`,
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '', '',
        ].join('\r\n');
        const answered = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 300);
          sock.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
          sock.send(probe, this.port, '127.0.0.1');
        });
        if (answered) return;
      }
    } finally {
      sock.close();
    }
  }

  cpuSeconds(): number {
    return treeCpuSeconds(this.pid);
  }

  processCount(): number {
    return processTree(this.pid).length;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await waitExit(this.child);
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** src/sip/forwarding-proxy-main.ts: the edge's SIP core forwarding everything, rate limit off. */
export class ForwardingProxy {
  readonly port: number;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(upstream: string): Promise<ForwardingProxy> {
    const port = await freeUdpPort();
    const root = new URL('../', import.meta.url).pathname;
    const child = spawn(process.execPath, ['src/sip/forwarding-proxy-main.ts', '--listen', `127.0.0.1:${port}`, '--upstream', upstream], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    child.stderr?.resume();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('forwarding proxy not listening after 30 s')), 30_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`forwarding proxy exited with ${code}`)));
    });
    return new ForwardingProxy(child, port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await waitExit(this.child);
  }
}

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  output: string;
}

/** SIPp (Debian's sip-tester) in a temporary working directory. */
export class Sipp {
  readonly port: number;
  readonly done: Promise<SippResult>;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.child = child;
    this.port = port;
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.done = waitExit(child).then((code) => {
      let errors = '';
      for (const f of readdirSync(dir)) if (f.endsWith('_errors.log')) errors += readFileSync(join(dir, f), 'utf8').slice(-3000);
      rmSync(dir, { recursive: true, force: true });
      const count = (label: string) => {
        // Final screen: "Successful call |   <periodic> |   <cumulative>"
        const m = new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(output);
        return m ? Number(m[1]) : 0;
      };
      return { code, successful: count('Successful call'), failed: count('Failed call'), output: `${errors}\n${output}` };
    });
  }

  /** args after the common ones (-i, -p, -nostdin, -trace_err); `scenario` is -sn name or -sf file. */
  static async start(args: string[], host = '127.0.0.1'): Promise<Sipp> {
    const port = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'bench-sipp-'));
    const media = await freeUdpPort();
    const child = spawn('sipp', ['-i', host, '-p', String(port), '-mp', String(media), '-nostdin', '-trace_err', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    return new Sipp(child, port, dir);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
