import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

const DEFAULT_TIMEOUT_MS = 30_000;
const PACKAGE_VERSION = packageVersion();

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Defaults to application/json; SSA uses application/apply-patch+yaml (JSON is valid YAML). */
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A non-2xx answer from the API server, with its Status body when there is one. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;
  readonly body: unknown;

  constructor(statusCode: number, body: unknown, what: string) {
    const status = typeof body === 'object' && body !== null ? (body as { message?: string; reason?: string }) : undefined;
    super(`${what}: ${statusCode} ${status?.message ?? String(body ?? '')}`.trim());
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = status?.reason;
    this.body = body;
  }
}

export interface KubeClientOptions {
  /**
   * Names this program's writes in managedFields: sent on every POST, PUT and PATCH that does not
   * name its own, so no write of ours shows up as an anonymous "Go-http-client" or "unknown".
   */
  fieldManager?: string;
  /** Sent as User-Agent, so the API server's audit log and metrics can tell our requests apart. */
  userAgent?: string;
}

const WRITE_METHODS: ReadonlySet<RequestOptions['method']> = new Set(['POST', 'PUT', 'PATCH']);

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.statusCode === code;
}

export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Minimal JSON client over the kubeconfig's transport and credentials. client-node's generated
 * APIs cover fixed kinds; the runtime needs any path (custom resources, subresources, apply
 * patches, streaming watches), so it speaks REST directly with client-node's auth.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly fieldManager: string | undefined;
  readonly userAgent: string;
  private readonly server: URL;

  constructor(kubeConfig: KubeConfig, opts: KubeClientOptions = {}) {
    this.kubeConfig = kubeConfig;
    this.fieldManager = opts.fieldManager;
    this.userAgent = opts.userAgent ?? programUserAgent(opts.fieldManager ?? 'hotdesk-operator');
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  /**
   * One request, bounded in total by timeoutMs (default 30 s): connecting, the TLS handshake, the
   * answer and its body all count. A socket idle timeout alone would let a request whose connection
   * never completes wait far past a caller's deadline (a leader's renewal, for one).
   */
  async request<T>(opts: RequestOptions): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // A signal of this request's own, dropped with it: a timer or listener left on a long-lived
    // signal would keep every finished request (and its answer) in memory until it fired.
    const cancel = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.abort();
    }, timeoutMs);
    const onCallerAbort = () => cancel.abort();
    if (opts.signal?.aborted) cancel.abort();
    else opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let res: http.IncomingMessage;
    let text: string;
    try {
      res = await this.open({ ...opts, signal: cancel.signal, timeoutMs: undefined });
      text = await readBody(res, cancel.signal);
    } catch (err) {
      if (timedOut) throw new Error(`${opts.method} ${opts.path}: timed out after ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
    }
    const parsed = parseJson(text);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw new ApiError(code, parsed, `${opts.method} ${opts.path}`);
    return parsed as T;
  }

  /**
   * Streams watch events until the server ends the stream (resolves) or the connection fails or
   * the server refuses (rejects with ApiError or the network error). Aborting resolves.
   */
  async watch<T>(path: string, query: Query, onEvent: (ev: WatchEvent<T>) => void, signal: AbortSignal, idleTimeoutMs?: number): Promise<void> {
    // The idle timeout catches a connection that died silently (no FIN/RST), which would otherwise hang forever.
    const res = await this.open({ method: 'GET', path, query: { ...query, watch: true }, signal, timeoutMs: idleTimeoutMs });
    const code = res.statusCode ?? 0;
    if (code !== 200) {
      const text = await readBody(res, signal);
      throw new ApiError(code, parseJson(text), `watch ${path}`);
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const onAbort = () => {
        res.destroy();
        finish();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (!line.trim()) return;
        let ev: WatchEvent<T>;
        try {
          ev = JSON.parse(line) as WatchEvent<T>;
        } catch {
          return;
        }
        onEvent(ev);
      });
      // readline re-emits the response's errors (ECONNRESET when the server goes away); unhandled it would crash.
      lines.on('error', (err) => finish(err));
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new Error('watch connection aborted')));
      lines.on('close', () => finish());
    });
  }

  private async open(opts: RequestOptions): Promise<http.IncomingMessage> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + opts.path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    if (this.fieldManager && WRITE_METHODS.has(opts.method) && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', this.fieldManager);
    const reqOpts: https.RequestOptions = { method: opts.method, headers: { accept: 'application/json', 'user-agent': this.userAgent } };
    await this.kubeConfig.applyToHTTPSOptions(reqOpts);
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      reqOpts.headers = { ...reqOpts.headers, 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) };
    }
    if (url.protocol === 'http:') delete reqOpts.agent;
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, reqOpts, resolve);
      req.on('error', reject);
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`${opts.method} ${opts.path}: timed out after ${opts.timeoutMs} ms`)));
      if (opts.signal) {
        if (opts.signal.aborted) req.destroy(new Error('aborted'));
        else opts.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.end(payload);
    });
  }
}

/** "<program>/<version> (linux/x64) node/<version>", the shape kubectl and client-go send. */
export function programUserAgent(program: string): string {
  return `${program}/${PACKAGE_VERSION} (${process.platform}/${process.arch}) node/${process.versions.node}`;
}

function readBody(res: http.IncomingMessage, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onAbort = () => {
      res.destroy();
      reject(new Error('aborted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
