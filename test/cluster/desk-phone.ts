import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { OFFICE_NETNS, OFFICE_PHONE_IP } from '../../src/cluster/office-network.ts';

const OFFICE_PHONE = new URL('./office-phone.ts', import.meta.url).pathname;

/** A call that rang the phone: its Request-URI, From, where it came from, and whether the caller hung up with BYE. */
export interface IncomingCall {
  uri: string;
  from: string;
  source: { transport: string; address: string; port: number };
  hungUp: boolean;
}

/** The office phone (office-phone.ts) running in the office LAN's namespace, driven from the test. */
export interface DeskPhone {
  register(identity?: string): Promise<{ status: number; reason: string }>;
  login(number: string, digits: string): Promise<{ status: number; reason: string; promptPackets: number; hungUpByEdge: boolean }>;
  notifies(count: number, timeoutMs: number): Promise<Array<{ uri: string; event: string }>>;
  call(number: string, holdMs: number): Promise<{ status: number; reason: string; byeStatus?: number }>;
  /** Waits until `count` calls in all have rung the phone (it answers each) and their callers hung up; 0: the calls so far. */
  incoming(count: number, timeoutMs: number): Promise<IncomingCall[]>;
  /** The phone's stderr, for a failure message. */
  log(): string;
  stop(): Promise<void>;
}

export function startDeskPhone(edge: { host: string; port: number; transport?: 'udp' | 'tcp' }, idleIdentity: string, domain: string): DeskPhone {
  const child: ChildProcess = spawn('nsenter', [`--net=/run/netns/${OFFICE_NETNS}`, process.execPath, OFFICE_PHONE, OFFICE_PHONE_IP, edge.host, String(edge.port), idleIdentity, domain, edge.transport ?? 'udp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const answers: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else answers.push(line);
  });
  child.once('exit', () => {
    for (const w of waiting.splice(0)) w(undefined);
  });
  // One command at a time: answers come back in order.
  let queue: Promise<unknown> = Promise.resolve();
  const ask = <T>(command: object): Promise<T> => {
    const asked = queue.then(async () => {
      if (child.exitCode !== null) throw new Error(`the office phone exited (${child.exitCode}): ${stderr}`);
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      const line = answers.shift() ?? await new Promise<string | undefined>((resolve) => waiting.push(resolve));
      if (line === undefined) throw new Error(`the office phone exited (${child.exitCode}): ${stderr}`);
      const answer = JSON.parse(line) as T & { error?: string };
      if (answer.error) throw new Error(`office phone, ${JSON.stringify(command)}: ${answer.error}`);
      return answer;
    });
    queue = asked.catch(() => undefined);
    return asked;
  };
  return {
    register: (identity) => ask({ op: 'register', ...(identity ? { identity } : {}) }),
    login: (number, digits) => ask({ op: 'login', number, digits }),
    notifies: async (count, timeoutMs) => (await ask<{ notifies: Array<{ uri: string; event: string }> }>({ op: 'notify', count, timeoutMs })).notifies,
    call: (number, holdMs) => ask({ op: 'call', number, holdMs }),
    incoming: async (count, timeoutMs) => (await ask<{ calls: IncomingCall[] }>({ op: 'incoming', count, timeoutMs })).calls,
    log: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
