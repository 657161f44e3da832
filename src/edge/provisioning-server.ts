import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecretKey, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { fillPlaceholders, type PlaceholderValues } from '../provisioning/placeholders.ts';
import { challenge, parseDigestHeader, verifyDigest } from './digest-auth.ts';

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
}

export interface DeviceSecrets {
  /** The password the phone presents to the provisioning server; none means it cannot authenticate. */
  provisioningPassword: string | undefined;
  /** Values for the file's placeholders (the SIP password of whoever sits at the desk). */
  placeholders: PlaceholderValues;
}

export interface ProvisioningSource {
  /** The file served under this name, read from the informer cache; undefined when none is. */
  lookup(fileName: string): ProvisioningFile | undefined;
  secretsFor(file: ProvisioningFile): Promise<DeviceSecrets>;
}

export type ProvisioningResult = 'served' | 'challenged' | 'denied' | 'not_found' | 'error';

export interface ProvisioningServerOptions {
  source: ProvisioningSource;
  log: Logger;
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
  const nonceKey = createSecretKey(randomBytes(32));
  // A fixed dummy keeps the work for unknown devices the same as for known ones.
  const dummyPassword = randomBytes(16).toString('hex');

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<ProvisioningResult> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return 'denied';
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://edge').pathname);
    const fileName = path.slice(path.lastIndexOf('/') + 1);
    const params = parseDigestHeader(req.headers.authorization);
    if (!params) {
      res.writeHead(401, { 'www-authenticate': challenge({ realm, nonceKey }), 'content-type': 'text/plain' }).end('authentication required\n');
      return 'challenged';
    }
    const file = opts.source.lookup(fileName);
    const secrets = file && params.username === file.username ? await opts.source.secretsFor(file) : undefined;
    const verdict = verifyDigest({ params, method: req.method, realm, password: secrets?.provisioningPassword || dummyPassword, nonceKey });
    if (verdict === 'stale') {
      res.writeHead(401, { 'www-authenticate': challenge({ realm, nonceKey, stale: true }), 'content-type': 'text/plain' }).end('nonce expired\n');
      return 'challenged';
    }
    if (verdict !== 'ok' || !file || !secrets?.provisioningPassword) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(NOT_FOUND_BODY);
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

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    handle(req, res)
      .catch((err: unknown) => {
        opts.log.error({ err: err instanceof Error ? err.message : String(err), path: req.url }, 'provisioning request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        return 'error' as const;
      })
      .then((result) => {
        opts.onRequest?.(result);
        // The access log names the path and the outcome; never a header, so no credential.
        opts.log.info({
          remote: req.socket.remoteAddress, method: req.method, path: req.url, status: res.statusCode, result,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        }, 'provisioning');
      });
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
