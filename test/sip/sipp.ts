/**
 * Runs SIPp (Debian's sip-tester) as a bounded child process for integration tests:
 * one call (-m 1), a global timeout, errors traced to a file read back on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freeLoopbackPort, waitForListener } from '../support/ports.ts';

export const FIXTURES = resolve(import.meta.dirname, '../fixtures/sip');

export interface SippRun {
  port: number;
  /** Resolves with the exit code; output and the error trace are attached for diagnostics. */
  done: Promise<{ code: number | null; output: string }>;
  kill(): void;
}

export interface SippOptions {
  scenario: string;
  port: number;
  transport: 'udp' | 'tcp';
  /** host:port to send to (UAC); omitted for a UAS. */
  remote?: string;
  service?: string;
  timeoutSeconds?: number;
  /** Calls (scenario runs) before SIPp exits; default 1. */
  calls?: number;
  /** Address SIPp binds and writes as [local_ip]; default 127.0.0.1 (any 127/8 address works on lo). */
  localAddress?: string;
}

export async function startSipp(options: SippOptions): Promise<SippRun> {
  const dir = await mkdtemp(join(tmpdir(), 'sipp-'));
  const args = [
    '-sf', join(FIXTURES, options.scenario),
    '-i', options.localAddress ?? '127.0.0.1',
    '-p', String(options.port),
    '-m', String(options.calls ?? 1),
    '-t', options.transport === 'tcp' ? 't1' : 'u1',
    '-timeout', `${options.timeoutSeconds ?? 30}s`,
    '-timeout_error',
    '-trace_err',
    '-nostdin',
    '-mp', String(await freeLoopbackPort()),
  ];
  if (options.service) args.push('-s', options.service);
  if (options.remote) args.push(options.remote);
  const child: ChildProcess = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const done = new Promise<{ code: number | null; output: string }>((resolveDone) => {
    child.on('exit', async (code) => {
      let trace = '';
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (file.endsWith('_errors.log')) trace += await readFile(join(dir, file), 'utf8').catch(() => '');
      }
      await rm(dir, { recursive: true, force: true });
      resolveDone({ code, output: `${trace}\n${output}` });
    });
  });
  return { port: options.port, done, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

export { freeLoopbackPort, waitForListener };

