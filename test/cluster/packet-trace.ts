import { spawn, type ChildProcess } from 'node:child_process';

/**
 * tcpdump on one interface of a network namespace, kept in memory (the newest `keepBytes`) to show
 * next to a failed assertion: what the office phone sent and got, before and after its NAT.
 */
export interface PacketTrace {
  text(): string;
  stop(): Promise<void>;
}

export function startPacketTrace(label: string, netns: string, iface: string, filter: string, opts: { payload: boolean; keepBytes?: number }): PacketTrace {
  const keep = opts.keepBytes ?? 64 * 1024;
  let text = '';
  const append = (d: string) => {
    text += d;
    if (text.length > 2 * keep) text = text.slice(-keep);
  };
  // -l: line-buffered, so what was captured up to a failure is already here; -nn: numbers, no DNS.
  const child: ChildProcess = spawn('nsenter', [`--net=/run/netns/${netns}`, 'tcpdump', '-i', iface, '-nn', '-l', '-s', '0', ...(opts.payload ? ['-A'] : []), filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  return {
    text: () => `--- tcpdump ${label} (${netns} ${iface}: ${filter}) ---\n${text.slice(-keep)}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs `body`; when it fails, throws an error whose message carries the traces' text, with the
 * failure (its assertion and stack) as its cause, so the runner prints both.
 */
export async function explainedBy<T>(traces: () => string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const first = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`${first}\n${traces()}`, { cause: err });
  }
}
