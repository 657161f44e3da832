import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest authentication (RFC 7616) for the provisioning server, strictly: qop=auth only,
 * MD5 or SHA-256 each verified as named, and every nonce count used once, increasing, in the
 * process that issued the nonce. MD5 stays on offer because it is what every desk phone vendor
 * implements for its provisioning URL; the password still never crosses the wire.
 */

const NONCE_LIFETIME_MS = 5 * 60_000;
/**
 * Nonces remembered per process. A boot storm of 10,000 phones fits many times over; beyond it the
 * oldest is forgotten and its phone simply gets a fresh challenge (stale=true). About 120 bytes each.
 */
export const NONCES_KEPT = 50_000;

export type DigestAlgorithm = 'MD5' | 'SHA-256';

interface AlgorithmSpec {
  node: 'md5' | 'sha256';
  hexLength: number;
}

const ALGORITHMS: Readonly<Record<DigestAlgorithm, AlgorithmSpec>> = {
  MD5: { node: 'md5', hexLength: 32 },
  'SHA-256': { node: 'sha256', hexLength: 64 },
};

/** The algorithm an answer names (absent means MD5, RFC 7616 §3.3); undefined for any other (MD5-sess, …). */
export function answerAlgorithm(named: string | undefined): DigestAlgorithm | undefined {
  if (named === undefined) return 'MD5';
  const upper = named.toUpperCase();
  return upper === 'MD5' || upper === 'SHA-256' ? upper : undefined;
}

/** The nonce count, exactly eight hex digits (RFC 7616 §3.4), as a number; undefined otherwise or for 0. */
export function parseNonceCount(nc: string | undefined): number | undefined {
  if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return undefined;
  const n = parseInt(nc, 16);
  return n > 0 ? n : undefined;
}

export type NonceUse = 'valid' | 'stale';

/**
 * The nonces this process issued, each with the highest nonce count accepted on it. A nonce is
 * good only here: a request bearing another process's nonce, an expired one, a forgotten one or
 * a count not above the last is answered with a fresh challenge, so a captured Authorization
 * header is worth nothing a second time. Memory is bounded by NONCES_KEPT.
 */
export class DigestNonces {
  /** nonce → highest nonce count accepted (0: none yet); insertion order is issue order. */
  readonly #issued = new Map<string, number>();
  readonly #capacity: number;

  constructor(capacity = NONCES_KEPT) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#issued.size;
  }

  issue(now: number = Date.now()): string {
    this.#forgetExpired(now);
    if (this.#issued.size >= this.#capacity) this.#issued.delete(this.#issued.keys().next().value!);
    const nonce = `${now.toString(36)}.${randomBytes(12).toString('base64url')}`;
    this.#issued.set(nonce, 0);
    return nonce;
  }

  /** Takes nonce count `nc` on `nonce`: valid once, only if the count is above every earlier one. */
  use(nonce: string, nc: number, now: number = Date.now()): NonceUse {
    const last = this.#issued.get(nonce);
    if (last === undefined || now - issuedAt(nonce) > NONCE_LIFETIME_MS || nc <= last) return 'stale';
    this.#issued.set(nonce, nc);
    return 'valid';
  }

  /** Issue order is time order: expired nonces are at the front. */
  #forgetExpired(now: number): void {
    for (const nonce of this.#issued.keys()) {
      if (now - issuedAt(nonce) <= NONCE_LIFETIME_MS) return;
      this.#issued.delete(nonce);
    }
  }
}

function issuedAt(nonce: string): number {
  return parseInt(nonce.slice(0, nonce.indexOf('.')), 36);
}

/**
 * The WWW-Authenticate values for a fresh nonce: MD5 first, because desk phones (and curl) take the
 * first Digest challenge they see, then SHA-256 for clients that prefer it. One nonce serves both.
 */
export function challenges(opts: { realm: string; nonces: DigestNonces; now?: number; stale?: boolean }): string[] {
  const nonce = opts.nonces.issue(opts.now);
  const opaque = randomBytes(8).toString('hex');
  return (Object.keys(ALGORITHMS) as DigestAlgorithm[]).map((algorithm) =>
    `Digest realm="${opts.realm}", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="${opaque}"${opts.stale ? ', stale=true' : ''}`);
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

const HEX = /^[0-9a-fA-F]+$/;

export function verifyDigest(input: DigestVerifyInput): DigestResult {
  const p = input.params;
  if (!p.username || !p.nonce || !p.uri || !p.response || !p.cnonce || p.realm !== input.realm) return 'denied';
  // qop=auth only: no RFC 2069 answer without a nonce count, no auth-int, no hashed usernames.
  if (p.qop !== 'auth' || p.userhash?.toLowerCase() === 'true') return 'denied';
  const algorithm = answerAlgorithm(p.algorithm);
  const nc = parseNonceCount(p.nc);
  if (algorithm === undefined || nc === undefined) return 'denied';
  const { node, hexLength } = ALGORITHMS[algorithm];
  if (p.response.length !== hexLength || !HEX.test(p.response)) return 'denied';
  const h = (text: string) => hash(node, text, 'hex');
  const ha1 = h(`${p.username}:${input.realm}:${input.password}`);
  const ha2 = h(`${input.method}:${p.uri}`);
  const expected = hash(node, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`, 'buffer');
  if (!timingSafeEqual(expected, Buffer.from(p.response, 'hex'))) return 'denied';
  // The answer is right for the nonce it names; only now may it use up a nonce count (a wrong
  // answer must not be able to push a phone's counts out of reach). A nonce this process cannot
  // vouch for, or a count already used, gets a fresh challenge: a phone answers it again without
  // re-prompting, and a replayed header gets nothing.
  return input.nonces.use(p.nonce, nc, input.now) === 'valid' ? 'ok' : 'stale';
}
