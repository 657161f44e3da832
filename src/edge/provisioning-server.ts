import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.ts';
import { fillPlaceholders, type PlaceholderValues } from '../provisioning/placeholders.ts';
import { AccessLog } from './access-log.ts';
import { startBodylessHttpServer, type BodylessRequest, type HttpAnswer } from './bodyless-http-server.ts';
import { challenges, DigestNonces, parseDigestHeader, verifyDigest } from './digest-auth.ts';

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
  onRequest?: (result: ProvisioningResult) => void;
}

export interface ProvisioningServer {
  port: number;
  close(): Promise<void>;
}

const NOT_FOUND_BODY = 'not found\n';
const TEXT: ReadonlyArray<readonly [string, string]> = [['Content-Type', 'text/plain']];

function decodedOrUndefined(component: string): string | undefined {
  if (!component.includes('%')) return component;
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

/** The path of a request target in origin form (`/a/b?q`) or absolute form (`http://host/a/b?q`). */
function pathOf(target: string): string {
  let path = target;
  if (target.charCodeAt(0) !== 0x2f) {
    const scheme = target.indexOf('://');
    const slash = scheme < 0 ? -1 : target.indexOf('/', scheme + 3);
    path = slash < 0 ? '/' : target.slice(slash);
  }
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}

/**
 * The file a path names: exactly `/<file>`. Anything else (`//x.cfg`, `/a/x.cfg`, `/../x.cfg`, an
 * encoded slash, a dot segment) names no file, so no prefix can reach one.
 */
export function fileNameOf(path: string): string | undefined {
  if (path.charCodeAt(0) !== 0x2f || path.indexOf('/', 1) >= 0) return undefined;
  const name = decodedOrUndefined(path.slice(1));
  if (name === undefined || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) return undefined;
  return name;
}

interface ProvisioningAnswer extends HttpAnswer {
  result: ProvisioningResult;
}

const answer = (result: ProvisioningResult, status: number, body: string, headers: ReadonlyArray<readonly [string, string]> = TEXT): ProvisioningAnswer => ({ result, status, headers, body });

/**
 * Serves each device's provisioning file, authenticated per device with HTTP Digest.
 *
 * A request without credentials is challenged whatever the file name, and a wrong password or an
 * unknown MAC both get the same 404: a scanner learns nothing about which MACs exist. A path that
 * is not exactly `/<file>` names no file and gets that 404 at once.
 */
export async function startProvisioningServer(opts: ProvisioningServerOptions): Promise<ProvisioningServer> {
  const realm = opts.realm ?? 'hotdesk';
  // This process's own nonces: a nonce is good only where it was issued, each count once.
  const nonces = new DigestNonces();
  // A fixed dummy keeps the work for unknown devices the same as for known ones.
  const dummyPassword = randomBytes(16).toString('hex');
  const accessLog = opts.accessLog ?? new AccessLog(opts.log);

  const challenged = (stale: boolean, body: string) =>
    answer('challenged', 401, body, [...TEXT, ...challenges({ realm, nonces, stale }).map((c) => ['WWW-Authenticate', c] as const)]);

  const serve = (method: string, params: Record<string, string>, resolved: ResolvedFile | undefined): ProvisioningAnswer => {
    const file = resolved?.file;
    const secrets = resolved?.secrets;
    const verdict = verifyDigest({ params, method, realm, password: secrets?.provisioningPassword || dummyPassword, nonces });
    if (verdict === 'stale') return challenged(true, 'nonce expired or already used\n');
    if (verdict !== 'ok' || !file || !secrets?.provisioningPassword) return answer(file ? 'denied' : 'not_found', 404, NOT_FOUND_BODY);
    const body = fillPlaceholders(file.content, secrets.placeholders, { contentType: file.contentType });
    // The file carries a SIP password: no cache on the way may keep it.
    return answer('served', 200, body, [['Content-Type', file.contentType], ['Cache-Control', 'no-store']]);
  };

  const decide = (request: BodylessRequest): ProvisioningAnswer | Promise<ProvisioningAnswer> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer('denied', 405, '', [['Allow', 'GET, HEAD']]);
    const path = pathOf(request.target);
    const fileName = fileNameOf(path);
    if (fileName === undefined) return answer('not_found', 404, NOT_FOUND_BODY);
    const params = parseDigestHeader(request.authorization);
    if (!params) return challenged(false, 'authentication required\n');
    // The answer must be for this very request (RFC 7616 §3.4.6), not one copied from another URL.
    if (params.uri !== request.target && params.uri !== path) return answer('denied', 400, 'digest uri does not match the request\n');
    const resolved = opts.source.resolve(fileName, params.username ?? '');
    return resolved instanceof Promise ? resolved.then((r) => serve(request.method, params, r)) : serve(request.method, params, resolved);
  };

  const record = (request: BodylessRequest, started: number, a: ProvisioningAnswer): ProvisioningAnswer => {
    opts.onRequest?.(a.result);
    // The access log names the path and the outcome; never a header, so no credential.
    accessLog.record({ remote: request.remoteAddress, method: request.method, path: request.target, status: a.status, result: a.result, ms: performance.now() - started });
    return a;
  };

  const failed = (request: BodylessRequest, started: number, err: unknown): ProvisioningAnswer => {
    opts.log.error({ err: err instanceof Error ? err.message : String(err), path: request.target }, 'provisioning request failed');
    return record(request, started, answer('error', 500, 'internal error\n'));
  };

  return startBodylessHttpServer({
    host: opts.host,
    port: opts.port,
    tls: opts.tls,
    handler: (request) => {
      const started = performance.now();
      let decided: ProvisioningAnswer | Promise<ProvisioningAnswer>;
      try {
        decided = decide(request);
      } catch (err) {
        return failed(request, started, err);
      }
      return decided instanceof Promise
        ? decided.then((a) => record(request, started, a), (err: unknown) => failed(request, started, err))
        : record(request, started, decided);
    },
    onRefused: ({ remoteAddress, status, reason }) => {
      opts.onRequest?.('denied');
      opts.log.info({ remote: remoteAddress, status, reason }, 'provisioning request refused');
    },
    onError: (err, request) => opts.log.error({ err: err instanceof Error ? err.message : String(err), path: request?.target }, request ? 'provisioning answer failed' : 'provisioning server failed to accept a connection'),
  });
}
