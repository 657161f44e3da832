/**
 * SIP Digest proxy authentication (RFC 3261 §22.3, RFC 2617 MD5 with qop=auth): how a phone proves
 * an identity on a flow the edge has not seen register. MD5 because that is what desk phones
 * answer a 407 with; the password never crosses the wire.
 *
 * Nonces are random (not derived from anything a peer can see) and kept in a bounded table: each
 * is bound to the flow and identity it was issued for, lives for a few minutes, and accepts each
 * nonce count once, in increasing order, so a captured Proxy-Authorization cannot be replayed.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDigestHeader } from './digest-auth.ts';

export const NONCE_LIFETIME_MS = 5 * 60_000;
/** A boot storm of a large floor fits; a flood of INVITEs only evicts its own oldest nonces. */
export const NONCES_KEPT = 8192;

interface IssuedNonce {
  flow: string;
  /** The identity challenged, lower case. */
  identity: string;
  issuedAt: number;
  /** Highest nonce count accepted so far. */
  lastCount: number;
}

export type ProxyAuthResult =
  /** The answer is right for the identity and the request. */
  | { result: 'ok'; username: string }
  /** No Proxy-Authorization for our realm: challenge. */
  | { result: 'missing' }
  /** A right answer on a nonce that expired, was evicted, or is for another flow: challenge again, stale. */
  | { result: 'stale' }
  /** A wrong answer, a replay, or a malformed header. */
  | { result: 'denied'; problem: string };

export interface ProxyAuthCheck {
  /** Every Proxy-Authorization value of the request. */
  authorizations: readonly string[];
  method: string;
  flow: string;
  /** The identity the request claims (From user); the Digest username must name it. */
  identity: string;
  password: string;
  now?: number;
}

function md5(text: string): string {
  return hash('md5', text, 'hex');
}

const MD5_HEX = /^[0-9a-f]{32}$/i;
const NONCE_COUNT = /^[0-9a-f]{8}$/i;

export class ProxyAuthenticator {
  readonly realm: string;
  readonly #nonces = new Map<string, IssuedNonce>();
  readonly #capacity: number;
  readonly #lifetimeMs: number;

  constructor(opts: { realm: string; capacity?: number; lifetimeMs?: number }) {
    this.realm = opts.realm;
    this.#capacity = opts.capacity ?? NONCES_KEPT;
    this.#lifetimeMs = opts.lifetimeMs ?? NONCE_LIFETIME_MS;
  }

  /** Nonces currently held (bounded by the capacity). */
  get size(): number {
    return this.#nonces.size;
  }

  /** A Proxy-Authenticate value for a request on `flow` claiming `identity`. */
  challenge(flow: string, identity: string, opts: { stale?: boolean; now?: number } = {}): string {
    const now = opts.now ?? Date.now();
    // Oldest first: the map keeps insertion order, so eviction is one step.
    while (this.#nonces.size >= this.#capacity) this.#nonces.delete(this.#nonces.keys().next().value!);
    const nonce = randomBytes(18).toString('base64url');
    this.#nonces.set(nonce, { flow, identity: identity.toLowerCase(), issuedAt: now, lastCount: 0 });
    const realm = this.realm.replace(/["\\]/g, '');
    return `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5${opts.stale ? ', stale=true' : ''}`;
  }

  check(input: ProxyAuthCheck): ProxyAuthResult {
    const now = input.now ?? Date.now();
    const params = input.authorizations.map(parseDigestHeader).find((p) => p !== undefined && p.realm === this.realm);
    if (!params) return { result: 'missing' };
    const { username, nonce, uri, response, qop, nc, cnonce } = params;
    if (!username || !nonce || !uri || !response || !MD5_HEX.test(response)) return { result: 'denied', problem: 'incomplete answer' };
    if (username.toLowerCase() !== input.identity.toLowerCase()) return { result: 'denied', problem: 'answer for another identity' };
    if (params.algorithm !== undefined && params.algorithm.toUpperCase() !== 'MD5') return { result: 'denied', problem: 'algorithm not offered' };
    if (qop !== 'auth' || !nc || !NONCE_COUNT.test(nc) || !cnonce) return { result: 'denied', problem: 'qop=auth with nc and cnonce required' };
    const ha1 = md5(`${username}:${this.realm}:${input.password}`);
    const ha2 = md5(`${input.method}:${uri}`);
    const expected = hash('md5', `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`, 'buffer');
    if (!timingSafeEqual(expected, Buffer.from(response, 'hex'))) return { result: 'denied', problem: 'wrong answer' };
    const issued = this.#nonces.get(nonce);
    if (!issued || now - issued.issuedAt > this.#lifetimeMs) {
      this.#nonces.delete(nonce);
      return { result: 'stale' };
    }
    // Another flow presenting this nonce learnt it from the wire; so did a different identity.
    if (issued.flow !== input.flow || issued.identity !== input.identity.toLowerCase()) return { result: 'stale' };
    const count = parseInt(nc, 16);
    if (count <= issued.lastCount) return { result: 'denied', problem: 'nonce count replayed' };
    issued.lastCount = count;
    return { result: 'ok', username };
  }
}
