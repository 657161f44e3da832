import { mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * The kernel's ephemeral range (net.ipv4.ip_local_port_range): ports it hands to every bind to
 * port 0 and to every outgoing connection, kubectl's and SIPp's included. A port a test picks
 * there and binds a moment later can be taken in between by any such socket; one picked below it
 * can only be taken by another explicit bind.
 */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && Number.isInteger(low) && low > 2048) return low;
  } catch {
    // not Linux: the IANA dynamic range starts at 49152
  }
  return 49152;
}

const RANGE_LOW = 20000;
const RANGE_HIGH = Math.max(RANGE_LOW + 1000, ephemeralRangeStart() - 1);

function candidate(): number {
  return RANGE_LOW + Math.floor(Math.random() * (RANGE_HIGH - RANGE_LOW + 1));
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.unref();
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();
const RESERVATIONS = join(tmpdir(), 'hotdesk-test-ports');

/**
 * Claims port for this process's lifetime against every other process using these helpers (test
 * files run as parallel processes): a file named after the port, created exclusively, holding
 * our pid. A claim whose process is gone is taken over.
 */
function reserve(port: number): boolean {
  if (handedOut.has(port)) return false;
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      handedOut.add(port);
      if (handedOut.size === 1) process.once('exit', releaseAll);
      return true;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(file, 'utf8').trim() || 0);
      } catch {
        continue; // released meanwhile: try to claim it again
      }
      // 0: another process has just created the file and not yet written its pid.
      if (!owner || owner === process.pid || alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseAll(): void {
  for (const port of handedOut) {
    try {
      unlinkSync(join(RESERVATIONS, String(port)));
    } catch {
      // already gone
    }
  }
}

/**
 * A TCP port on 127.0.0.1, free a moment ago, outside the kernel's ephemeral range (so no
 * outgoing connection can take it before the caller binds it), never handed to two test processes.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = candidate();
    if (!(await tcpFree(port)) || !reserve(port)) continue;
    return port;
  }
}

/**
 * A port free for both UDP and TCP on 127.0.0.1 a moment ago (SIP listens on both), outside the
 * ephemeral range and never handed out twice across test processes, so two peers started together
 * cannot be given the same one and the kernel cannot hand it to a client socket before the peer binds it.
 */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = candidate();
    if (!(await udpFree(port)) || !(await tcpFree(port)) || !reserve(port)) continue;
    return port;
  }
}
