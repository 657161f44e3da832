import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpuSeconds, peakRssKiB } from './lib/proc.ts';

const REPO_ROOT = new URL('../', import.meta.url).pathname;

export interface ControllerProcessOptions {
  kubeconfigPath: string;
  namespace: string;
  /** Directory for a V8 CPU profile (--cpu-prof); none when undefined. */
  cpuProfileDir?: string | undefined;
  /** NODE_OPTIONS for the controller (e.g. V8 heap limits to try); as shipped when undefined. */
  nodeOptions?: string | undefined;
}

/**
 * The controller as it ships (src/cmd/controller.ts) in a child process of its own, so its RSS
 * and CPU time are its own. Leader election off; it watches only the benchmark's namespace.
 */
export class ControllerProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderrTail: string[] = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(opts: ControllerProcessOptions): Promise<ControllerProcess> {
    const nodeArgs = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, 'src/cmd/controller.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KUBECONFIG: opts.kubeconfigPath,
        HOTDESK_LEADER_ELECT: 'false',
        HOTDESK_NAMESPACE: opts.namespace,
        HOTDESK_METRICS_HOST: '127.0.0.1',
        HOTDESK_METRICS_PORT: '0',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
      },
    });
    const proc = new ControllerProcess(child);
    // Leave no controller behind if the benchmark dies.
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      const timer = setTimeout(() => reject(new Error(`controller not ready after 60 s:\n${proc.stderrTail.join('\n')}`)), 60_000);
      lines.on('line', (line) => {
        if (line.includes('"ready":true')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`controller exited with ${code} before it was ready:\n${proc.stderrTail.join('\n')}`));
      });
    });
    return proc;
  }

  peakRssKiB(): number {
    return peakRssKiB(this.pid);
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  /** Lines the controller logged at warn or above (LOG_LEVEL=warn), the last 20. */
  recentLog(): string[] {
    return [...this.stderrTail];
  }

  /** SIGTERM (graceful: writes the CPU profile), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}
