/**
 * Resource limits applied to everything that arrives from the network: message size, header
 * count and a per-source token bucket, so one misbehaving phone cannot starve the others.
 */

export interface SipLimits {
  /**
   * Largest accepted message (head + body) in bytes. A desk phone's REGISTER or INVITE with SDP is
   * 1–4 KiB; 16 KiB leaves room for large SDP offers and dialog-info NOTIFYs while keeping what a
   * hostile source can make the edge hold small. (Kamailio's default buffer is 64 KiB, the
   * largest UDP datagram, and it keeps no copy per transaction for 32 s the way we do.)
   */
  maxMessageBytes: number;
  /** Most header lines (after splitting multi-value headers) in one message. */
  maxHeaders: number;
  /** Per source IP rate limit, or false to disable (benchmarks, trusted upstreams). */
  rateLimit: { messagesPerSecond: number; burst: number } | false;
  /** Live transactions (server and client) beyond which a new request is answered 503. */
  maxTransactions: number;
  /** Bytes of messages live transactions hold beyond which a new request is answered 503. */
  maxTransactionBytes: number;
  /** Bytes one source's transactions may hold (the pool's PBX is not limited), a share of the above. */
  maxTransactionBytesPerSource: number;
  /** Retry-After, in seconds, on a 503 for too many transactions. */
  overloadRetryAfterSeconds: number;
  /** TCP/TLS: once a message has begun, the whole of it must arrive within this long. */
  streamMessageDeadlineMs: number;
  /** TCP/TLS: accepted connections open at once, in total and from one source address. */
  maxConnections: number;
  maxConnectionsPerSource: number;
}

export const DEFAULT_LIMITS: Readonly<SipLimits> = {
  maxMessageBytes: 16 * 1024,
  maxHeaders: 128,
  rateLimit: { messagesPerSecond: 200, burst: 400 },
  // Steady state of a 10,000-phone pool re-registering every minute is ~3,000 transactions (a
  // non-INVITE UDP transaction lives 32 s); a 200 calls/s core run holds ~14,000.
  maxTransactions: 20_000,
  // Held messages cost about three times their size in RSS (parsed copy, forwarded copy, response):
  // 24 MiB of them stays well inside a 256 Mi pod.
  maxTransactionBytes: 24 * 1024 * 1024,
  // A quarter, so one source cannot spend the budget of all. A source sending at its whole rate
  // limit (200/s, each held 32 s) stays inside it with messages up to about 950 bytes (a REGISTER
  // is about 500); phones behind one NAT send far less often than that.
  maxTransactionBytesPerSource: 6 * 1024 * 1024,
  overloadRetryAfterSeconds: 5,
  streamMessageDeadlineMs: 10_000,
  maxConnections: 8_192,
  // Generous: an office's phones behind one NAT share a source address.
  maxConnectionsPerSource: 256,
};

export function resolveLimits(overrides: Partial<SipLimits> = {}): SipLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Token buckets keyed by source. Time is passed in so the decision stays pure and testable.
 * Buckets that have refilled completely carry no information and are pruned when the table grows.
 */
export class SourceRateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(messagesPerSecond: number, burst: number, maxSources = 10_000) {
    if (!(messagesPerSecond > 0) || !(burst >= 1)) throw new RangeError('rate limit needs messagesPerSecond > 0 and burst >= 1');
    this.#ratePerMs = messagesPerSecond / 1000;
    this.#burst = burst;
    this.#maxSources = maxSources;
  }

  /** Takes one token for `source`; false means the message should be dropped. */
  allow(source: string, nowMs: number): boolean {
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) this.#prune(nowMs);
      bucket = { tokens: this.#burst, updatedMs: nowMs };
      this.#buckets.set(source, bucket);
    } else {
      const elapsed = Math.max(0, nowMs - bucket.updatedMs);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#ratePerMs);
      bucket.updatedMs = nowMs;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.#buckets.size;
  }

  #prune(nowMs: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (nowMs - bucket.updatedMs) * this.#ratePerMs >= this.#burst) this.#buckets.delete(key);
    }
    // Under a flood of distinct sources nothing is full; drop the oldest entries instead.
    if (this.#buckets.size >= this.#maxSources) {
      let excess = this.#buckets.size - Math.floor(this.#maxSources / 2);
      for (const key of this.#buckets.keys()) {
        if (excess-- <= 0) break;
        this.#buckets.delete(key);
      }
    }
  }
}
