/** SIP over UDP: one message per datagram (RFC 3261 §18). */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { MessageSink, SipAddress, SipTransport } from './transport.ts';

export interface UdpTransportOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  onMessage: MessageSink;
  onError?: (err: Error) => void;
  /**
   * Kernel receive buffer asked for (default 4 MiB; the kernel caps it at net.core.rmem_max).
   * The default 208 KiB holds fewer than a hundred small datagrams on loopback: a burst of
   * REGISTERs during one garbage collection would otherwise be dropped before the edge sees it.
   */
  receiveBufferBytes?: number;
}

export class UdpTransport implements SipTransport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly #options: UdpTransportOptions;
  #socket: Socket | undefined;

  constructor(options: UdpTransportOptions) {
    this.#options = options;
  }

  listen(): Promise<SipAddress> {
    const socket = createSocket({ type: isIPv6(this.#options.host) ? 'udp6' : 'udp4' });
    this.#socket = socket;
    socket.on('message', (data, rinfo) => {
      this.#options.onMessage(data, { transport: 'udp', address: rinfo.address, port: rinfo.port });
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#options.port, this.#options.host, () => {
        socket.off('error', reject);
        // A send failure (ICMP unreachable) must not crash the process.
        socket.on('error', (err) => this.#options.onError?.(err));
        try {
          socket.setRecvBufferSize(this.#options.receiveBufferBytes ?? 4 * 1024 * 1024);
        } catch (err) {
          this.#options.onError?.(err as Error);
        }
        const bound = socket.address();
        resolve({ transport: 'udp', address: bound.address, port: bound.port });
      });
    });
  }

  send(destination: { address: string; port: number }, data: Buffer): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return Promise.reject(new Error('UDP transport is not listening'));
    return new Promise((resolve, reject) => {
      socket.send(data, destination.port, destination.address, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
