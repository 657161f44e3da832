import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * HTTP Digest authentication (RFC 7616, MD5 with qop=auth) for the provisioning server.
 * MD5 because it is what every desk phone vendor implements for its provisioning URL; the
 * password still never crosses the wire. Nonces are stateless: an HMAC over their issue time,
 * so any edge replica can check a nonce another replica issued.
 */

export interface DigestChallengeOptions {
  realm: string;
  nonceKey: Buffer | KeyObject;
  now?: number;
  stale?: boolean;
}

const NONCE_LIFETIME_MS = 5 * 60_000;

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

export function issueNonce(key: Buffer | KeyObject, now: number = Date.now()): string {
  const stamp = now.toString(36);
  const mac = createHmac('sha256', key).update(stamp).digest('base64url').slice(0, 22);
  return `${stamp}.${mac}`;
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export function checkNonce(nonce: string, key: Buffer | KeyObject, now: number = Date.now()): NonceCheck {
  const [stamp, mac] = nonce.split('.');
  if (!stamp || !mac) return 'invalid';
  const expected = createHmac('sha256', key).update(stamp).digest('base64url').slice(0, 22);
  if (expected.length !== mac.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(mac))) return 'invalid';
  const issued = parseInt(stamp, 36);
  return now - issued > NONCE_LIFETIME_MS || issued > now + 60_000 ? 'stale' : 'valid';
}

export function challenge(opts: DigestChallengeOptions): string {
  const nonce = issueNonce(opts.nonceKey, opts.now);
  const opaque = randomBytes(8).toString('hex');
  return `Digest realm="${opts.realm}", qop="auth", algorithm=MD5, nonce="${nonce}", opaque="${opaque}"${opts.stale ? ', stale=true' : ''}`;
}

/** Parses `Digest k="v", k2=v2` into a map; undefined when it is not a Digest header. */
export function parseDigestHeader(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^digest\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of header.slice(7).matchAll(re)) params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return params;
}

export interface DigestVerifyInput {
  params: Record<string, string>;
  method: string;
  realm: string;
  password: string;
  nonceKey: Buffer | KeyObject;
  now?: number;
}

export type DigestResult = 'ok' | 'stale' | 'denied';

export function verifyDigest(input: DigestVerifyInput): DigestResult {
  const p = input.params;
  if (!p.username || !p.nonce || !p.uri || !p.response || p.realm !== input.realm) return 'denied';
  const ha1 = md5(`${p.username}:${input.realm}:${input.password}`);
  const ha2 = md5(`${input.method}:${p.uri}`);
  const expected = p.qop
    ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`)
    : md5(`${ha1}:${p.nonce}:${ha2}`);
  const a = Buffer.from(expected);
  const b = Buffer.from(p.response.toLowerCase());
  if (a.length !== b.length || !timingSafeEqual(a, b)) return 'denied';
  const nonce = checkNonce(p.nonce, input.nonceKey, input.now);
  return nonce === 'valid' ? 'ok' : nonce === 'stale' ? 'stale' : 'denied';
}
