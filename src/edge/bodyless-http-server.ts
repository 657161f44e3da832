import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { isToken, parseRequestHead, MAX_HEAD_BYTES, type ParsedRequestHead } from './http-request-head.ts';

/**
 * An HTTP/1.1 server for requests without a body, on a plain TCP (or TLS) socket.
 *
 * Why not node:http: a boot storm is thousands of phones a second, each opening a connection for
 * one GET. node:http builds a request stream, a response stream and a header table for each, and
 * that machinery cost more CPU than the provisioning work itself (a third more requests a second
 * on the same cores without it; bench/README.md). What a provisioning server needs is small: a
 * request line, a few header fields, an answer with a length, keep-alive and timeouts. The parser
 * (http-request-head.ts) is strict, and any request with a body is answered 400 and its connection
 * closed, so no body is ever framed here.
 */

export interface BodylessRequest {
  method: string;
  /** The request target as sent: origin form (`/path?query`) or absolute form. */
  target: string;
  authorization: string | undefined;
  remoteAddress: string | undefined;
}

export interface HttpAnswer {
  status: number;
  /** Header fields besides Date, Content-Length and Connection, which the server writes itself. */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
  body: string;
}

export type BodylessHandler = (request: BodylessRequest) => HttpAnswer | Promise<HttpAnswer>;

export interface BodylessHttpServerOptions {
  handler: BodylessHandler;
  /** Requests the server refused itself, before the handler: malformed, too large, too slow. */
  onRefused?: (refusal: { remoteAddress: string | undefined; status: number; reason: string }) => void;
  /**
   * The handler threw or its promise was rejected, and the client got a 500; or, without a
   * request, the listening socket failed to accept a connection (too many open files).
   */
  onError?: (err: unknown, request: BodylessRequest | undefined) => void;
  host?: string;
  port?: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** A connection with no request in progress is closed after this long. */
  idleTimeoutMs?: number;
  /** A request head must arrive within this long of its first byte. */
  headTimeoutMs?: number;
}

export interface BodylessHttpServer {
  port: number;
  close(): Promise<void>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 5_000;
const DEFAULT_HEAD_TIMEOUT_MS = 10_000;
/** How often idle and slow connections are looked for. */
const SWEEP_EVERY_MS = 1_000;
/** Unread bytes kept while an answer is being computed; beyond this the socket stops reading. */
const MAX_BUFFERED = 4 * MAX_HEAD_BYTES;
const UNSAFE_HEADER_VALUE = /[\r\n\0]/;

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 505: 'HTTP Version Not Supported',
};

let dateSecond = 0;
let dateValue = '';
/** The Date field, formatted once a second rather than per answer. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/** The bytes of an answer; throws on a header name or value that could split the head. */
export function serializeAnswer(answer: HttpAnswer, opts: { headOnly: boolean; keepAlive: boolean; minorVersion: 0 | 1 }): string {
  let head = `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? 'Unknown'}\r\nDate: ${httpDate()}\r\n`;
  for (const [name, value] of answer.headers) {
    if (!isToken(name) || UNSAFE_HEADER_VALUE.test(value)) throw new Error(`header ${JSON.stringify(name)} has a malformed name or a line break or NUL in its value`);
    head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${Buffer.byteLength(answer.body)}\r\n`;
  if (!opts.keepAlive) head += 'Connection: close\r\n';
  else if (opts.minorVersion === 0) head += 'Connection: keep-alive\r\n';
  return opts.headOnly ? `${head}\r\n` : `${head}\r\n${answer.body}`;
}

const plain = (status: number, body: string): HttpAnswer => ({ status, headers: [['Content-Type', 'text/plain']], body });

interface Connection {
  socket: Socket;
  /** Bytes received and not yet consumed, one character per byte. */
  unread: string;
  /** An answer is being computed, or written out and waiting for the socket to drain. */
  busy: boolean;
  /** The client has sent its FIN: answer what it asked, then close. */
  ended: boolean;
  done: boolean;
  /** When the last answer went out on a connection closing in stages (sweep clock). */
  closingSince: number;
  /** When the connection last finished an answer or opened (sweep clock). */
  idleSince: number;
  /** When the first byte of the current, incomplete head arrived (sweep clock); 0 when none is. */
  headSince: number;
}

export async function startBodylessHttpServer(opts: BodylessHttpServerOptions): Promise<BodylessHttpServer> {
  const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const headTimeoutMs = opts.headTimeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
  const connections = new Set<Connection>();
  const tls = opts.tls !== undefined;
  // A clock the sweep advances, so a request pays no clock read for its timeouts.
  let clock = Date.now();

  const finish = (c: Connection, data: string | undefined, graceful = false) => {
    c.done = true;
    c.closingSince = clock;
    if (data === undefined) return void c.socket.end();
    c.socket.write(data, 'utf8');
    // All of it handed to the kernel and nothing more from the client: close at once, as nginx
    // does; the kernel still sends the answer before its FIN, and a boot storm saves a shutdown
    // and a round of callbacks per phone. Otherwise (TLS, a partial write, bytes beyond the last
    // request, a refused request) close in stages, so that no reset can overtake the answer; the
    // sweep ends it if the client does not.
    if (!graceful && !tls && c.socket.writableLength === 0 && c.unread === '') c.socket.destroy();
    else c.socket.end();
  };

  const internalError = (c: Connection, headOnly: boolean) =>
    finish(c, serializeAnswer(plain(500, 'internal error\n'), { headOnly, keepAlive: false, minorVersion: 1 }));

  const refuse = (c: Connection, status: number, reason: string) => {
    opts.onRefused?.({ remoteAddress: c.socket.remoteAddress, status, reason });
    finish(c, serializeAnswer(plain(status, `${reason}\n`), { headOnly: false, keepAlive: false, minorVersion: 1 }), true);
  };

  const send = (c: Connection, head: ParsedRequestHead, request: BodylessRequest, answer: HttpAnswer) => {
    if (c.done) return;
    let bytes: string;
    try {
      bytes = serializeAnswer(answer, { headOnly: head.method === 'HEAD', keepAlive: head.keepAlive, minorVersion: head.minorVersion });
    } catch (err) {
      opts.onError?.(err, request);
      return internalError(c, head.method === 'HEAD');
    }
    if (!head.keepAlive) return finish(c, bytes);
    c.idleSince = clock;
    // The head is ASCII; the body is text in UTF-8.
    if (!c.socket.write(bytes, 'utf8')) {
      c.busy = true;
      c.socket.once('drain', () => {
        c.busy = false;
        next(c);
      });
    }
  };

  const failed = (c: Connection, request: BodylessRequest, err: unknown) => {
    opts.onError?.(err, request);
    if (!c.done) internalError(c, request.method === 'HEAD');
  };

  /** Answers the requests waiting in the connection's buffer, in order, one at a time. */
  const next = (c: Connection): void => {
    while (!c.busy && !c.done) {
      if (c.unread.length === 0) {
        c.headSince = 0;
        if (c.ended) finish(c, undefined);
        else if (c.socket.isPaused()) c.socket.resume();
        return;
      }
      const head = parseRequestHead(c.unread);
      if (head.kind === 'incomplete') {
        if (c.ended) return refuse(c, 400, 'connection closed in the middle of a request');
        if (c.headSince === 0) c.headSince = clock;
        if (c.socket.isPaused()) c.socket.resume();
        return;
      }
      if (head.kind === 'invalid') return refuse(c, head.status, head.reason);
      // Bodies are never read here, so a connection that carried one is not reused.
      if (head.hasBody) return refuse(c, 400, 'a request body is not accepted here');
      c.unread = c.unread.length === head.length ? '' : c.unread.slice(head.length);
      c.headSince = 0;
      const request: BodylessRequest = { method: head.method, target: head.target, authorization: head.authorization, remoteAddress: c.socket.remoteAddress };
      let answer: HttpAnswer | Promise<HttpAnswer>;
      try {
        answer = opts.handler(request);
      } catch (err) {
        return failed(c, request, err);
      }
      if (answer instanceof Promise) {
        c.busy = true;
        answer.then(
          (a) => {
            c.busy = false;
            send(c, head, request, a);
            next(c);
          },
          (err: unknown) => failed(c, request, err),
        );
        return;
      }
      send(c, head, request, answer);
    }
  };

  const onConnection = (socket: Socket) => {
    const c: Connection = { socket, unread: '', busy: false, ended: false, done: false, closingSince: 0, idleSince: clock, headSince: 0 };
    connections.add(c);
    socket.on('data', (chunk: Buffer) => {
      if (c.done) return;
      c.unread += chunk.toString('latin1');
      if (c.busy) {
        if (c.unread.length > MAX_BUFFERED) socket.pause();
        return;
      }
      next(c);
    });
    socket.on('end', () => {
      c.ended = true;
      if (!c.busy) next(c);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      c.done = true;
      connections.delete(c);
    });
  };

  const sweep = setInterval(() => {
    clock = Date.now();
    for (const c of connections) {
      if (c.done) {
        if (clock - c.closingSince > idleTimeoutMs) c.socket.destroy();
      } else if (c.busy) {
        continue;
      } else if (c.headSince !== 0) {
        if (clock - c.headSince > headTimeoutMs) refuse(c, 408, 'request head not received in time');
      } else if (clock - c.idleSince > idleTimeoutMs) {
        c.done = true;
        c.socket.destroy();
      }
    }
  }, SWEEP_EVERY_MS);
  sweep.unref();

  const server: Server = opts.tls
    ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert, allowHalfOpen: true }, onConnection)
    : createNetServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  // The TCP sockets under TLS, from accept on: one still in its handshake is no connection of ours
  // yet, and close() must end it too.
  const tcpUnderTls = new Set<Socket>();
  if (opts.tls) {
    server.on('connection', (raw: Socket) => {
      tcpUnderTls.add(raw);
      raw.once('close', () => tcpUnderTls.delete(raw));
    });
    // A failed or abandoned handshake (a probe, a scanner, a timeout) must neither take the
    // process down nor leave its socket half open.
    server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      // An accept that fails must not take the process down; the next one may succeed.
      server.on('error', (err) => opts.onError?.(err, undefined));
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      clearInterval(sweep);
      for (const c of connections) c.socket.destroy();
      for (const raw of tcpUnderTls) raw.destroy();
      connections.clear();
      server.close(() => resolve());
    }),
  };
}
