import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SipMessage } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';

/** A raw UDP SIP endpoint on loopback that records every message it receives, for proxy tests. */
export interface UdpSipPeer {
  socket: Socket;
  port: number;
  received: SipMessage[];
  send(text: string, port: number): Promise<void>;
  /** The first message received that matches; `what` names it in the timeout error. */
  waitFor(predicate: (m: SipMessage) => boolean, options?: { timeoutMs?: number; what?: string }): Promise<SipMessage>;
}

/** Binds a peer on a free loopback port; `cleanups` gets the close. */
export async function udpSipPeer(cleanups: Array<() => Promise<void> | void>): Promise<UdpSipPeer> {
  const socket = createSocket('udp4');
  await new Promise<void>((res) => socket.bind(0, '127.0.0.1', () => res()));
  cleanups.push(() => new Promise<void>((res) => socket.close(() => res())));
  const received: SipMessage[] = [];
  socket.on('message', (data) => {
    const r = parseMessage(data, { framing: 'datagram' });
    if (r.ok) received.push(r.message);
  });
  return {
    socket,
    port: socket.address().port,
    received,
    send: (text, port) => new Promise((res, rej) => socket.send(Buffer.from(text), port, '127.0.0.1', (e) => (e ? rej(e) : res()))),
    async waitFor(predicate, { timeoutMs = 5_000, what = 'the message waited for' } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${received.map((m) => (m.kind === 'response' ? m.status : m.method)).join(',')}`);
        await sleep(10);
      }
    },
  };
}
