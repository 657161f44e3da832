/**
 * SIP over TCP and TLS (RFC 3261 §18, §26.2): one code path, TLS just wraps the sockets.
 * Connections are reused per remote address:port in both directions, so a response goes back
 * on the connection its request arrived on, and idle connections are closed after a timeout.
 * Accepted connections are capped in total and per source, and a message once begun must be
 * complete within a deadline, so a client trickling bytes cannot hold a connection open.
 */
import { createServer as createTcpServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type ConnectionOptions, type Server as TlsServer } from 'node:tls';
import { ConnectionLimiter, type ConnectionRefusal } from './limits-connections.ts';
import { StreamFramer } from './stream-framer.ts';
import { addressKey, type MessageSink, type SipAddress, type SipTransport } from './transport.ts';

export interface TlsSettings {
  /** PEM certificate chain and key served to peers. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CA bundle to verify peers we connect to; default is Node's bundle. */
  ca?: string | Buffer;
  /** Verify the peer's certificate on outbound connections (default true). */
  rejectUnauthorized?: boolean;
}

export interface StreamTransportOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  onMessage: MessageSink;
  /**
   * Called when a connection has to be dropped for unframeable input: a message too large, or
   * one not complete by the deadline. `head` is the complete head of a message too large; the
   * bytes returned (a 513 answer) are written before the connection closes.
   */
  onFramingError?: (problem: FramingProblem, source: SipAddress, head?: Buffer) => Buffer | undefined | void;
  /** Called when an incoming connection is refused by a connection cap. */
  onConnectionRefused?: (reason: ConnectionRefusal, source: SipAddress) => void;
  maxMessageBytes: number;
  /** Once a message has begun, all of it must arrive within this long (default 10 s; 0: no deadline). */
  messageDeadlineMs?: number;
  /** Accepted connections open at once, in total and per source address (default: no cap). */
  maxConnections?: number;
  maxConnectionsPerSource?: number;
  /** Connections without traffic for this long are closed (default 5 minutes). */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Present: the transport is TLS; absent: plain TCP. */
  tls?: TlsSettings;
}

export type FramingProblem = 'too_large' | 'deadline';

export class StreamTransport implements SipTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  readonly #options: StreamTransportOptions;
  readonly #connections = new Map<string, Socket>();
  readonly #pending = new Map<string, Promise<Socket>>();
  /** Each connection's source object (what onMessage reports) and back: the connection is a flow. */
  readonly #sourceOf = new WeakMap<Socket, SipAddress>();
  readonly #socketOf = new WeakMap<SipAddress, Socket>();
  readonly #admission: ConnectionLimiter;
  #server: Server | undefined;

  constructor(options: StreamTransportOptions) {
    this.#options = options;
    this.protocol = options.tls ? 'tls' : 'tcp';
    this.#admission = new ConnectionLimiter(options.maxConnections ?? Infinity, options.maxConnectionsPerSource ?? Infinity);
  }

  get openConnections(): number {
    return this.#connections.size;
  }

  listen(): Promise<SipAddress> {
    const tls = this.#options.tls;
    const server = tls
      // A handshake is held to the same deadline as a message: no slow TLS client holds a socket either.
      ? createTlsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: this.#options.messageDeadlineMs || 10_000 }, (socket) => this.#accept(socket))
      : createTcpServer((socket) => this.#accept(socket));
    // Sockets still in their TLS handshake count too (the per-source cap applies once it is done).
    if (this.#options.maxConnections !== undefined && Number.isFinite(this.#options.maxConnections)) {
      server.maxConnections = this.#options.maxConnections;
      server.on('drop', (dropped) => this.#options.onConnectionRefused?.('total', { transport: this.protocol, address: dropped?.remoteAddress ?? '', port: dropped?.remotePort ?? 0 }));
    }
    this.#server = server;
    // A failed TLS handshake surfaces here; it concerns one peer only.
    server.on('tlsClientError', () => {});
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        const bound = server.address();
        if (bound === null || typeof bound === 'string') return reject(new Error('stream transport bound to a pipe'));
        resolve({ transport: this.protocol, address: bound.address, port: bound.port });
      });
    });
  }

  async send(destination: { address: string; port: number }, data: Buffer): Promise<void> {
    const socket = await this.#connectionTo(destination);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * The source object of messages on the open connection with `peer`, which stands for that
   * connection (a phone's flow); undefined when none is open.
   */
  openConnectionSource(peer: { address: string; port: number }): SipAddress | undefined {
    const socket = this.#connections.get(addressKey(peer));
    return socket && !socket.destroyed ? this.#sourceOf.get(socket) : undefined;
  }

  /** Sends on the very connection `source` stands for, never a new one: a flow that closed stays closed. */
  async sendOnConnection(source: SipAddress, data: Buffer): Promise<void> {
    const socket = this.#socketOf.get(source);
    if (socket === undefined || socket.destroyed) throw new Error(`the connection to ${addressKey(source)} has closed`);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * A renewed certificate and key for the connections accepted from now on; open connections keep
   * the one they were made with. Throws, changing nothing, when the pair is unusable.
   */
  setTlsCredentials(credentials: Pick<TlsSettings, 'cert' | 'key'>): void {
    const tls = this.#options.tls;
    if (!tls) throw new Error('not a TLS transport');
    (this.#server as TlsServer | undefined)?.setSecureContext({ cert: credentials.cert, key: credentials.key });
    this.#options.tls = { ...tls, cert: credentials.cert, key: credentials.key };
  }

  async close(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #connectionTo(destination: { address: string; port: number }): Promise<Socket> {
    const key = addressKey(destination);
    const existing = this.#connections.get(key);
    if (existing && !existing.destroyed) return Promise.resolve(existing);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const connecting = new Promise<Socket>((resolve, reject) => {
      const tls = this.#options.tls;
      const socket: Socket = tls
        ? tlsConnect({
            host: destination.address,
            port: destination.port,
            ca: tls.ca,
            rejectUnauthorized: tls.rejectUnauthorized ?? true,
            servername: /^[\d.:]+$/.test(destination.address) ? undefined : destination.address,
          } as ConnectionOptions)
        : tcpConnect({ host: destination.address, port: destination.port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${key} timed out`)), this.#options.connectTimeoutMs ?? 5000);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        this.#adopt(socket, key);
        resolve(socket);
      });
    }).finally(() => this.#pending.delete(key));
    this.#pending.set(key, connecting);
    return connecting;
  }

  /** An incoming connection: counted against the caps, or closed at once. */
  #accept(socket: Socket): void {
    const source = socket.remoteAddress ?? '';
    const refusal = this.#admission.admit(source);
    if (refusal !== undefined) {
      socket.on('error', () => {});
      socket.destroy();
      this.#options.onConnectionRefused?.(refusal, { transport: this.protocol, address: source, port: socket.remotePort ?? 0 });
      return;
    }
    socket.once('close', () => this.#admission.release(source));
    this.#adopt(socket);
  }

  #adopt(socket: Socket, knownKey?: string): void {
    const remote: SipAddress = { transport: this.protocol, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const key = knownKey ?? addressKey(remote);
    this.#connections.set(key, socket);
    this.#sourceOf.set(socket, remote);
    this.#socketOf.set(remote, socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.#options.idleTimeoutMs ?? 300_000, () => socket.destroy());
    const framer = new StreamFramer(this.#options.maxMessageBytes);
    const deadlineMs = this.#options.messageDeadlineMs ?? 10_000;
    let deadline: NodeJS.Timeout | undefined;
    const stopDeadline = (): void => {
      clearTimeout(deadline);
      deadline = undefined;
    };
    socket.on('data', (chunk: Buffer) => {
      let completed = false;
      for (const event of framer.push(chunk)) {
        if (event.kind === 'message') {
          completed = true;
          this.#options.onMessage(event.data, remote);
        } else if (event.kind === 'keepalive') socket.write('\r\n');
        else {
          stopDeadline();
          const answer = this.#options.onFramingError?.('too_large', remote, event.head);
          if (answer) {
            // Half-close after the answer rather than destroy: unread input would turn the close
            // into a reset that can overtake the answer. The peer gets a moment to read it.
            socket.end(answer);
            setTimeout(() => socket.destroy(), 2_000).unref();
          } else socket.destroy();
          return;
        }
      }
      // The clock runs from the first byte of each message, not from the last byte received.
      if (completed || framer.pendingBytes === 0) stopDeadline();
      if (framer.pendingBytes > 0 && deadline === undefined && deadlineMs > 0) {
        deadline = setTimeout(() => {
          deadline = undefined;
          this.#options.onFramingError?.('deadline', remote);
          socket.destroy();
        }, deadlineMs);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      stopDeadline();
      if (this.#connections.get(key) === socket) this.#connections.delete(key);
    });
  }
}
