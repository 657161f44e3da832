import { createHmac, hash, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * HTTP Digest authentication (RFC 7616, MD5 with qop=auth) for the provisioning server.
 * MD5 because it is what every desk phone vendor implements for its provisioning URL; the
 * password still never crosses the wire.
 */

const NONCE_LIFETIME_MS = 5 * 60_000;
const NONCE_CLOCK_SKEW_MS = 60_000;
/** Verified nonces remembered, so a boot storm pays one HMAC per nonce rather than per request. */
const VERIFIED_NONCES_KEPT = 4096;

// crypto.hash, not createHash: one call without a stream object, half the cost per hash.
function md5(text: string): string {
  return hash('md5', text, 'hex');
}

function nonceMac(key: KeyObject, stamp: string): string {
  return createHmac('sha256', key).update(stamp).digest('base64url').slice(0, 22);
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * Issues and checks stateless nonces: `<issue time>.<HMAC of it>`. Every process holding the same
 * key accepts the others' nonces, so a phone may get its challenge from one of an edge pod's
 * provisioning processes and present its answer to another.
 */
export class DigestNonces {
  readonly #key: KeyObject;
  /** nonce → issue time, for nonces whose HMAC has been checked; oldest first. */
  readonly #verified = new Map<string, number>();

  constructor(key: KeyObject) {
    this.#key = key;
  }

  issue(now: number = Date.now()): string {
    const stamp = now.toString(36);
    return `${stamp}.${nonceMac(this.#key, stamp)}`;
  }

  check(nonce: string, now: number = Date.now()): NonceCheck {
    let issued = this.#verified.get(nonce);
    if (issued === undefined) {
      const dot = nonce.indexOf('.');
      if (dot <= 0) return 'invalid';
      const stamp = nonce.slice(0, dot);
      const expected = Buffer.from(nonceMac(this.#key, stamp));
      const presented = Buffer.from(nonce.slice(dot + 1));
      if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return 'invalid';
      issued = parseInt(stamp, 36);
      if (this.#verified.size >= VERIFIED_NONCES_KEPT) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(nonce, issued);
    }
    return now - issued > NONCE_LIFETIME_MS || issued > now + NONCE_CLOCK_SKEW_MS ? 'stale' : 'valid';
  }
}

export function challenge(opts: { realm: string; nonces: DigestNonces; now?: number; stale?: boolean }): string {
  const opaque = randomBytes(8).toString('hex');
  return `Digest realm="${opts.realm}", qop="auth", algorithm=MD5, nonce="${opts.nonces.issue(opts.now)}", opaque="${opaque}"${opts.stale ? ', stale=true' : ''}`;
}

/**
 * Parses `Digest k="v", k2=v2` into a map (names lower-cased, quoted values unescaped); undefined
 * when it is not a Digest header. A scanner rather than a regular expression: it runs on every
 * provisioning request of a boot storm.
 */
export function parseDigestHeader(header: string | undefined): Record<string, string> | undefined {
  if (!header || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'digest' || !isSpace(header.charCodeAt(6))) return undefined;
  const params: Record<string, string> = {};
  const n = header.length;
  let i = 7;
  while (i < n) {
    while (i < n && (isSpace(header.charCodeAt(i)) || header.charCodeAt(i) === COMMA)) i++;
    const nameStart = i;
    while (i < n && isTokenChar(header.charCodeAt(i))) i++;
    const name = header.slice(nameStart, i).toLowerCase();
    while (i < n && isSpace(header.charCodeAt(i))) i++;
    if (!name || header.charCodeAt(i) !== EQUALS) {
      // Not a name=value pair: skip to the next comma.
      while (i < n && header.charCodeAt(i) !== COMMA) i++;
      continue;
    }
    i++;
    while (i < n && isSpace(header.charCodeAt(i))) i++;
    if (header.charCodeAt(i) === QUOTE) {
      i++;
      let value = '';
      let chunk = i;
      while (i < n && header.charCodeAt(i) !== QUOTE) {
        if (header.charCodeAt(i) === BACKSLASH && i + 1 < n) {
          value += header.slice(chunk, i);
          chunk = i + 1;
          i += 2;
        } else i++;
      }
      params[name] = value + header.slice(chunk, i);
      i++;
    } else {
      const valueStart = i;
      while (i < n && header.charCodeAt(i) !== COMMA && !isSpace(header.charCodeAt(i))) i++;
      params[name] = header.slice(valueStart, i);
    }
  }
  return params;
}

const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isTokenChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;
}

export interface DigestVerifyInput {
  params: Record<string, string>;
  method: string;
  realm: string;
  password: string;
  nonces: DigestNonces;
  now?: number;
}

export type DigestResult = 'ok' | 'stale' | 'denied';

const MD5_HEX = /^[0-9a-fA-F]{32}$/;

export function verifyDigest(input: DigestVerifyInput): DigestResult {
  const p = input.params;
  if (!p.username || !p.nonce || !p.uri || !p.response || p.realm !== input.realm) return 'denied';
  const ha1 = md5(`${p.username}:${input.realm}:${input.password}`);
  const ha2 = md5(`${input.method}:${p.uri}`);
  if (!MD5_HEX.test(p.response)) return 'denied';
  const expected = hash('md5', p.qop
    ? `${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`
    : `${ha1}:${p.nonce}:${ha2}`, 'buffer');
  if (!timingSafeEqual(expected, Buffer.from(p.response, 'hex'))) return 'denied';
  // The answer is right for the nonce it names. A nonce this process cannot vouch for (another
  // pod's, or one from before a restart) gets a fresh challenge rather than a refusal: the phone
  // answers it again without re-prompting, and nothing is served on it.
  return input.nonces.check(p.nonce, input.now) === 'valid' ? 'ok' : 'stale';
}
