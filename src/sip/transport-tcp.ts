/**
 * SIP over TCP and TLS (RFC 3261 §18, §26.2): one code path, TLS just wraps the sockets.
 * Connections are reused per remote address:port in both directions, so a response goes back
 * on the connection its request arrived on, and idle connections are closed after a timeout.
 * Every connection has an identity (StreamConnection) on the source of each message it carries:
 * a number, and whether this side opened it and to whom.
 * Accepted connections are capped in total and per source, and a message once begun must be
 * complete within a deadline, so a client trickling bytes cannot hold a connection open.
 */
import { createServer as createTcpServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { checkServerIdentity, createServer as createTlsServer, connect as tlsConnect, TLSSocket, type ConnectionOptions, type Server as TlsServer } from 'node:tls';
import { ConnectionLimiter, type ConnectionRefusal } from './limits-connections.ts';
import { StreamFramer } from './stream-framer.ts';
import { addressKey, type MessageSink, type SipAddress, type SipTransport, type StreamConnection } from './transport.ts';

export interface TlsSettings {
  /** PEM certificate chain and key served to peers. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CA bundle to verify peers we connect to, and the certificates clients present; default is Node's bundle. */
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
  /**
   * Whether a connection this side opens to `peer` is kept open (an upstream that sends its own
   * requests back on it): it is not closed when idle, and a double-CRLF ping goes every
   * `keepaliveIntervalMs` (RFC 5626 §4.4.1) so neither the peer nor a NAT between drops it.
   */
  keepAlive?: (peer: { address: string; port: number }) => boolean;
  /** Default 30 s: under the 2 minutes after which Kamailio, by default, closes an idle connection. */
  keepaliveIntervalMs?: number;
  connectTimeoutMs?: number;
  /** Present: the transport is TLS; absent: plain TCP. */
  tls?: TlsSettings;
}

export type FramingProblem = 'too_large' | 'deadline';

/** Connection numbers are unique across the process's stream transports (TCP and TLS alike). */
let lastConnectionId = 0;

export class StreamTransport implements SipTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  readonly #options: StreamTransportOptions;
  readonly #connections = new Map<string, Socket>();
  readonly #pending = new Map<string, Promise<Socket>>();
  /** Open connections by number (StreamConnection.id), and each connection's identity. */
  readonly #byId = new Map<number, Socket>();
  readonly #connectionOf = new WeakMap<Socket, StreamConnection>();
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
      // A client may present a certificate (a PBX can prove its name so); one without is served all the same.
      ? createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: true, rejectUnauthorized: false, handshakeTimeout: this.#options.messageDeadlineMs || 10_000 }, (socket) => this.#accept(socket))
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

  /** The open connection with `peer` (the one `send` would use), undefined when none is open. */
  openConnection(peer: { address: string; port: number }): StreamConnection | undefined {
    const socket = this.#connections.get(addressKey(peer));
    return socket === undefined || socket.destroyed ? undefined : this.#connectionOf.get(socket);
  }

  /** Sends on the very connection numbered `id`, never a new one: a flow that closed stays closed. */
  async sendOnConnection(id: number, data: Buffer): Promise<void> {
    const socket = this.#byId.get(id);
    if (socket === undefined || socket.destroyed) throw new Error(`connection ${id} has closed`);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * A renewed certificate and key for the connections accepted from now on; open connections keep
   * the one they were made with. Throws, changing nothing, when the pair is unusable.
   */
  setTlsCredentials(credentials: Pick<TlsSettings, 'cert' | 'key'>): void {
    const tls = this.#options.tls;
    if (!tls) throw new Error('not a TLS transport');
    // The CA that clients' certificates are verified against stays as it was.
    (this.#server as TlsServer | undefined)?.setSecureContext({ cert: credentials.cert, key: credentials.key, ...(tls.ca ? { ca: tls.ca } : {}) });
    this.#options.tls = { ...tls, cert: credentials.cert, key: credentials.key };
  }

  async close(): Promise<void> {
    for (const socket of [...this.#connections.values(), ...this.#byId.values()]) socket.destroy();
    this.#connections.clear();
    this.#byId.clear();
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
        this.#adopt(socket, { address: destination.address, port: destination.port });
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
    this.#adopt(socket, undefined, certifiedNames(socket));
  }

  /** `openedTo`: the destination this side connected to; absent for an accepted connection. */
  #adopt(socket: Socket, openedTo?: { address: string; port: number }, certifiedFor?: (host: string) => boolean): void {
    const connection: StreamConnection = { id: ++lastConnectionId, ...(openedTo ? { openedTo } : {}), ...(certifiedFor ? { certifiedFor } : {}) };
    const remote: SipAddress = { transport: this.protocol, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connection };
    const key = addressKey(openedTo ?? remote);
    this.#connections.set(key, socket);
    this.#byId.set(connection.id, socket);
    this.#connectionOf.set(socket, connection);
    socket.setNoDelay(true);
    const closeWhenIdle = (): void => void socket.setTimeout(this.#options.idleTimeoutMs ?? 300_000, () => socket.destroy());
    let pinging = openedTo !== undefined && this.#options.keepAlive?.(openedTo) === true;
    if (pinging) {
      this.#keepAlive(socket, () => this.#options.keepAlive?.(openedTo!) === true, () => {
        pinging = false;
        closeWhenIdle();
      });
    } else closeWhenIdle();
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
        } else if (event.kind === 'keepalive') {
          // The side that pings lets the peer's pongs be (two of them would read as a ping).
          if (!pinging) socket.write('\r\n');
        } else {
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
      this.#byId.delete(connection.id);
    });
  }

  /** Pings a kept-alive connection until it closes, or until it is `wanted` no more (the upstream changed): then `release`. */
  #keepAlive(socket: Socket, wanted: () => boolean, release: () => void): void {
    const timer = setInterval(() => {
      if (wanted()) {
        socket.write('\r\n\r\n');
        return;
      }
      clearInterval(timer);
      release();
    }, this.#options.keepaliveIntervalMs ?? 30_000);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
  }
}

/**
 * The names an accepted TLS client's certificate is valid for, when it verified (OpenSSL checks a
 * client's chain for client use): matched as a server's name would be (RFC 6125 rules, wildcards).
 */
function certifiedNames(socket: Socket): ((host: string) => boolean) | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  if (!certificate || Object.keys(certificate).length === 0) return undefined;
  return (host) => checkServerIdentity(host, certificate) === undefined;
}
