import { spawn, type ChildProcess } from 'node:child_process';
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
  private readonly stderrTail: string[];

  private constructor(child: ChildProcess, ports: { sipPort: number; httpPort: number; metricsPort: number }, stderrTail: string[]) {
    this.child = child;
    this.sipPort = ports.sipPort;
    this.httpPort = ports.httpPort;
    this.metricsPort = ports.metricsPort;
    this.stderrTail = stderrTail;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(opts: EdgeProcessOptions, sipPort: number): Promise<EdgeProcess> {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'src/cmd/edge.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
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
    const tail: string[] = [];
    // The edge's log is read (and dropped) as a log collector would, keeping the last lines.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
    });
    const ports = await new Promise<{ sipPort: number; httpPort: number; metricsPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`edge not ready after 60 s:\n${tail.join('\n')}`)), 60_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.includes('"ready":true')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { sipPort: number; httpPort: number; metricsPort: number });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`edge exited with ${code} before it was ready:\n${tail.join('\n')}`));
      });
    });
    return new EdgeProcess(child, ports, tail);
  }

  recentLog(): string[] {
    return [...this.stderrTail];
  }

  async metricsText(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** SIGTERM (which also writes a --cpu-prof profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
