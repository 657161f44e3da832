import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { fillPlaceholders, type PlaceholderValues } from '../provisioning/placeholders.ts';
import { AccessLog } from './access-log.ts';
import { challenge, DigestNonces, parseDigestHeader, verifyDigest } from './digest-auth.ts';

/** One device's file as the controller rendered it: placeholders where the secrets go. */
export interface ProvisioningFile {
  /** namespace/name of the HotDeskDevice, for the access log and metrics. */
  device: string;
  /** The Digest username the phone must present: its MAC, 12 lowercase hex digits. */
  username: string;
  content: string;
  contentType: string;
  /** Where the SIP password for the file's placeholder is kept. */
  passwordRef?: { secret: string; key: string };
  /** Where the device's provisioning password is kept; without one no request can authenticate. */
  authRef?: { secret: string; key: string };
}

export interface DeviceSecrets {
  /** The password the phone presents to the provisioning server; none means it cannot authenticate. */
  provisioningPassword: string | undefined;
  /** Values for the file's placeholders (the SIP password of whoever sits at the desk). */
  placeholders: PlaceholderValues;
}

/** A file found by name; its secrets only when the Digest username is the file's own device. */
export interface ResolvedFile {
  file: ProvisioningFile;
  secrets: DeviceSecrets | undefined;
}

export interface ProvisioningSource {
  /**
   * The file served under this name, undefined when none is. Synchronous when everything is
   * cached, as it is for most requests of a boot storm.
   */
  resolve(fileName: string, username: string): ResolvedFile | undefined | Promise<ResolvedFile | undefined>;
}

export type ProvisioningResult = 'served' | 'challenged' | 'denied' | 'not_found' | 'error';

export interface ProvisioningServerOptions {
  source: ProvisioningSource;
  log: Logger;
  /** The access log; default: lines in `log`'s stream. */
  accessLog?: AccessLog;
  realm?: string;
  host?: string;
  port?: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Key of the Digest nonces; processes sharing it accept each other's nonces. Default: a random key. */
  nonceKey?: KeyObject;
  onRequest?: (result: ProvisioningResult) => void;
}

export interface ProvisioningServer {
  port: number;
  close(): Promise<void>;
}

const NOT_FOUND_BODY = 'not found\n';

/**
 * The first Authorization header, read from the raw header list: touching `req.headers` makes
 * Node build an object of every header on each request, which a boot storm pays thousands of
 * times a second for one value.
 */
function authorizationOf(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') return raw[i + 1];
  }
  return undefined;
}

function decodedOrUndefined(component: string): string | undefined {
  if (!component.includes('%')) return component;
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

/**
 * Serves each device's provisioning file, authenticated per device with HTTP Digest.
 *
 * A request without credentials is challenged whatever the name, and a wrong password or an
 * unknown MAC both get the same 404: a scanner learns nothing about which MACs exist.
 */
export async function startProvisioningServer(opts: ProvisioningServerOptions): Promise<ProvisioningServer> {
  const realm = opts.realm ?? 'hotdesk';
  // A KeyObject, not a Buffer: Node prepares a raw key again on every HMAC, a fifth of the CPU of a
  // provisioning request in the boot-storm benchmark.
  const nonces = new DigestNonces(opts.nonceKey ?? createSecretKey(randomBytes(32)));
  // A fixed dummy keeps the work for unknown devices the same as for known ones.
  const dummyPassword = randomBytes(16).toString('hex');

  const accessLog = opts.accessLog ?? new AccessLog(opts.log);
  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
    res.writeHead(status, { ...headers, 'content-type': 'text/plain' }).end(body);
  };

  const serve = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, resolved: ResolvedFile | undefined): ProvisioningResult => {
    const file = resolved?.file;
    const secrets = resolved?.secrets;
    const verdict = verifyDigest({ params, method: req.method!, realm, password: secrets?.provisioningPassword || dummyPassword, nonces });
    if (verdict === 'stale') {
      answer(res, 401, { 'www-authenticate': challenge({ realm, nonces, stale: true }) }, 'nonce expired\n');
      return 'challenged';
    }
    if (verdict !== 'ok' || !file || !secrets?.provisioningPassword) {
      answer(res, 404, {}, NOT_FOUND_BODY);
      return file ? 'denied' : 'not_found';
    }
    const body = fillPlaceholders(file.content, secrets.placeholders, { contentType: file.contentType });
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': Buffer.byteLength(body),
      // The file carries a SIP password: no cache on the way may keep it.
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return 'served';
  };

  const handle = (req: IncomingMessage, res: ServerResponse): ProvisioningResult | Promise<ProvisioningResult> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return 'denied';
    }
    const target = req.url ?? '/';
    const query = target.indexOf('?');
    const path = query < 0 ? target : target.slice(0, query);
    const slash = path.lastIndexOf('/');
    const fileName = decodedOrUndefined(path.slice(slash + 1));
    const params = parseDigestHeader(authorizationOf(req));
    if (!params) {
      answer(res, 401, { 'www-authenticate': challenge({ realm, nonces }) }, 'authentication required\n');
      return 'challenged';
    }
    // The answer must be for this very request (RFC 7616 §3.4.6), not one copied from another URL.
    if (params.uri !== target && params.uri !== path) {
      answer(res, 400, {}, 'digest uri does not match the request\n');
      return 'denied';
    }
    const resolved = fileName === undefined ? undefined : opts.source.resolve(fileName, params.username ?? '');
    return resolved instanceof Promise ? resolved.then((r) => serve(req, res, params, r)) : serve(req, res, params, resolved);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const failed = (err: unknown): ProvisioningResult => {
      opts.log.error({ err: err instanceof Error ? err.message : String(err), path: req.url }, 'provisioning request failed');
      if (!res.headersSent) answer(res, 500, {}, 'internal error\n');
      return 'error';
    };
    const done = (result: ProvisioningResult) => {
      opts.onRequest?.(result);
      // The access log names the path and the outcome; never a header, so no credential.
      accessLog.record({
        remote: req.socket.remoteAddress, method: req.method, path: req.url, status: res.statusCode, result,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    };
    let result: ProvisioningResult | Promise<ProvisioningResult>;
    try {
      result = handle(req, res);
    } catch (err) {
      result = failed(err);
    }
    if (result instanceof Promise) result.catch(failed).then(done);
    else done(result);
  };

  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, listener) : createHttpServer(listener);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
