/** Free loopback ports and waiting for a peer to bind, for the end-to-end tests. */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const handedOut = new Set<number>();

/** A port free for both UDP and TCP on 127.0.0.1 a moment ago, never the same twice per process. */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((res, rej) => {
      udp.once('error', rej);
      udp.bind(0, '127.0.0.1', () => res(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once('error', () => res(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    await new Promise<void>((res) => udp.close(() => res()));
    if (tcpFree && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Waits until something listens on the port (peers bind a moment after they start). */
export async function waitForListener(port: number, transport: 'udp' | 'tcp', deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const { stdout } = await execFileAsync('ss', ['-H', transport === 'tcp' ? '-ltn' : '-lun', `sport = :${port}`]).catch(() => ({ stdout: '' }));
    if (stdout.trim() !== '') return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${transport} port ${port}`);
}
