/** Free loopback ports and waiting for a peer (SIPp, Kamailio, baresip) to bind, for tests. */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { freeLoopbackPort } from '../../src/envtest/ports.ts';

export { freeLoopbackPort };

/** A free loopback port that is even, as RTP ports are (an IVR port range of one). */
export async function freeEvenLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await freeLoopbackPort();
    if (port % 2 === 0 && port <= 65534) return port;
  }
}

const execFileAsync = promisify(execFile);

/** Waits until something listens on the port (peers bind a moment after they start), in `netns` when given. */
export async function waitForListener(port: number, transport: 'udp' | 'tcp', deadlineMs = 10_000, netns?: string): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const { stdout } = await execFileAsync('ss', [...(netns ? ['-N', netns] : []), '-H', transport === 'tcp' ? '-ltn' : '-lun', `sport = :${port}`]).catch(() => ({ stdout: '' }));
    if (stdout.trim() !== '') return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${transport} port ${port}`);
}
