import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const REPO_ROOT = new URL('../', import.meta.url).pathname;

export interface EdgeProcessOptions {
  kubeconfigPath: string;
  namespace: string;
  pool: string;
  /** Extra arguments for node, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeArgs?: string[];
  /** LOG_LEVEL of the edge; default info, as it ships. */
  logLevel?: string;
}

/**
 * The edge as it ships (src/cmd/edge.ts) in a process of its own, so /proc/<pid>/stat holds its
 * CPU time and nothing else. It binds loopback and picks free ports (0), reported on stdout.
 */
export class EdgeProcess {
  readonly sipPort: number;
  readonly httpPort: number;
  readonly metricsPort: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly logPath: string;

  private constructor(child: ChildProcess, ports: { sipPort: number; httpPort: number; metricsPort: number }, logPath: string) {
    this.child = child;
    this.sipPort = ports.sipPort;
    this.httpPort = ports.httpPort;
    this.metricsPort = ports.metricsPort;
    this.logPath = logPath;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(opts: EdgeProcessOptions, sipPort: number): Promise<EdgeProcess> {
    // The log goes to a file, as nginx's access log does in the same benchmark: a reader process
    // splitting lines would take CPU from the machine both are measured on.
    const logPath = join(mkdtempSync(join(tmpdir(), 'bench-edge-log-')), 'edge.log');
    const logFd = openSync(logPath, 'a');
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'src/cmd/edge.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', logFd],
      env: {
        ...process.env,
        KUBECONFIG: opts.kubeconfigPath,
        HOTDESK_POOL: opts.pool,
        HOTDESK_NAMESPACE: opts.namespace,
        HOTDESK_BIND_HOST: '127.0.0.1',
        HOTDESK_ADVERTISED_HOST: '127.0.0.1',
        // SIP needs a fixed port (UDP and TCP share it); HTTP and metrics take any free port.
        HOTDESK_SIP_PORT: String(sipPort),
        HOTDESK_HTTP_PORT: '0',
        HOTDESK_METRICS_PORT: '0',
        LOG_LEVEL: opts.logLevel ?? 'info',
      },
    });
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    closeSync(logFd);
    const tail = () => lastLines(logPath, 30).join('\n');
    const ports = await new Promise<{ sipPort: number; httpPort: number; metricsPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`edge not ready after 60 s:\n${tail()}`)), 60_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.includes('"ready":true')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { sipPort: number; httpPort: number; metricsPort: number });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`edge exited with ${code} before it was ready:\n${tail()}`));
      });
    });
    return new EdgeProcess(child, ports, logPath);
  }

  recentLog(): string[] {
    return lastLines(this.logPath, 30);
  }

  async metricsText(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** SIGTERM (which also writes a --cpu-prof profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(dirname(this.logPath), { recursive: true, force: true });
  }
}

/** The last lines of a file that may be tens of megabytes long, reading only its end. */
function lastLines(path: string, count: number): string[] {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      return buf.toString('utf8').trimEnd().split('\n').slice(-count);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}
