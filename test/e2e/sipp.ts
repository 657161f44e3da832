/**
 * Runs SIPp (Debian's sip-tester) for the end-to-end tests: bounded by a call count and a global
 * timeout, with its error trace and full message trace read back so a test can assert on what
 * the peer actually received and show it on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freeLoopbackPort, waitForListener } from '../support/ports.ts';

export const SCENARIOS = resolve(import.meta.dirname, 'scenarios');

export interface SippResult {
  code: number | null;
  /** stdout/stderr tail and the error trace. */
  output: string;
  /** Every message sent and received (SIPp -trace_msg). */
  messages: string;
}

export interface SippRun {
  port: number;
  done: Promise<SippResult>;
  kill(): void;
}

export interface SippOptions {
  scenario: string;
  /** Local SIP port; a free one when omitted. */
  port?: number;
  transport?: 'udp' | 'tcp';
  /** host:port to send to; omitted for a UAS that only waits. */
  remote?: string;
  /** The Request-URI user part ([service]). */
  service?: string;
  /** Scenario keywords: -key name value, used as [name]. */
  keys?: Record<string, string | number>;
  calls?: number;
  timeoutSeconds?: number;
  /** Credentials the scenario's [authentication] answers a 407 with (SIPp -au/-ap). */
  auth?: { user: string; password: string };
  /** Local address (default 127.0.0.1). */
  host?: string;
  /** Run inside this network namespace (test/support/nat-topology.ts). */
  netns?: string;
}

const live = new Set<ChildProcess>();

/** Kills every SIPp this process started that is still running (teardown safety net). */
export function killAllSipp(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

export async function startSipp(options: SippOptions): Promise<SippRun> {
  const dir = await mkdtemp(join(tmpdir(), 'sipp-e2e-'));
  const port = options.port ?? (await freeLoopbackPort());
  const args = [
    '-sf', join(SCENARIOS, options.scenario),
    '-i', options.host ?? '127.0.0.1',
    '-p', String(port),
    '-m', String(options.calls ?? 1),
    '-t', options.transport === 'tcp' ? 't1' : 'u1',
    '-timeout', `${options.timeoutSeconds ?? 40}s`,
    '-timeout_error',
    '-trace_err',
    '-trace_msg',
    '-nostdin',
    '-mp', String(await freeLoopbackPort()),
  ];
  for (const [name, value] of Object.entries(options.keys ?? {})) args.push('-key', name, String(value));
  if (options.auth) args.push('-au', options.auth.user, '-ap', options.auth.password);
  if (options.service) args.push('-s', options.service);
  if (options.remote) args.push(options.remote);
  const [command, argv] = options.netns ? ['nsenter', [`--net=/run/netns/${options.netns}`, 'sipp', ...args]] : ['sipp', args];
  const child: ChildProcess = spawn(command, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const done = new Promise<SippResult>((resolveDone) => {
    child.on('exit', async (code) => {
      live.delete(child);
      let trace = '';
      let messages = '';
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        const text = await readFile(join(dir, file), 'utf8').catch(() => '');
        if (file.endsWith('_errors.log')) trace += text;
        if (file.endsWith('_messages.log')) messages += text;
      }
      await rm(dir, { recursive: true, force: true });
      resolveDone({ code, output: `${trace}\n${output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')}`, messages });
    });
  });
  if (!options.remote) await waitForListener(port, options.transport ?? 'udp', 10_000, options.netns);
  return { port, done, kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL') };
}

/** Waits for a SIPp run and fails with its traces when it did not pass. */
export async function expectPassed(run: SippRun, what: string): Promise<SippResult> {
  const result = await run.done;
  if (result.code !== 0) throw new Error(`SIPp ${what} exited with ${result.code}:\n${result.output}\n--- messages ---\n${result.messages.slice(-6000)}`);
  return result;
}
