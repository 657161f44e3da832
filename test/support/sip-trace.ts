/**
 * A packet trace of a test's SIP: tcpdump in each network namespace of interest, written to files
 * while the test runs, then decoded into a short listing (one line per packet, its SIP start line
 * and the headers that show routing) for a failure message. The files are deleted either way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/envtest/command.ts';

export interface SipTrace {
  /** The decoded listing of every capture, namespace by namespace. */
  decode(): Promise<string>;
  stop(): Promise<void>;
}

const PACKET_LINE = /^\d{2}:\d{2}:\d{2}\.\d+ /;
const START_LINE = /([A-Z]+ (?:sips?|tel):\S+ SIP\/2\.0|SIP\/2\.0 \d{3} .*)$/;
const KEY_HEADER = /^(Via|v|From|f|To|t|Call-ID|i|CSeq|Contact|m|Route|Record-Route|Path|Expires|Supported|k):/i;

/** `tcpdump -r file -nn -A` output trimmed to packet lines, SIP start lines and routing headers. */
export function summariseTcpdump(text: string): string {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (PACKET_LINE.test(line)) out.push(line);
    else {
      const start = START_LINE.exec(line);
      if (start) out.push(`    ${start[1]}`);
      else if (KEY_HEADER.test(line)) out.push(`      ${line.slice(0, 200)}`);
    }
  }
  return out.join('\n');
}

/** Starts one capture per namespace (`-i any`, IPv4 only: no neighbour discovery noise). */
export async function startSipTrace(namespaces: readonly string[]): Promise<SipTrace> {
  const dir = await mkdtemp(join(tmpdir(), 'sip-trace-'));
  const captures: Array<{ netns: string; file: string; child: ChildProcess; exited: Promise<void> }> = [];
  for (const netns of namespaces) {
    const file = join(dir, `${netns}.pcap`);
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'tcpdump', '-i', 'any', '-nn', '-U', '-s', '0', '-w', file, 'ip'], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    captures.push({ netns, file, child, exited });
  }
  // tcpdump opens its capture a moment after it starts: give it that moment before the test sends.
  await new Promise((resolve) => setTimeout(resolve, 500));
  let stopped = false;
  const halt = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of captures) c.child.kill('SIGINT');
    await Promise.all(captures.map((c) => c.exited));
  };
  return {
    // tcpdump -U writes each packet as it comes: the files can be read while it still captures.
    decode: async () => {
      const parts: string[] = [];
      for (const c of captures) {
        const r = await runCommand('tcpdump', ['-r', c.file, '-nn', '-A']);
        parts.push(`== ${c.netns} ==\n${summariseTcpdump(r.stdout) || r.stderr.trim()}`);
      }
      return parts.join('\n');
    },
    stop: async () => {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
