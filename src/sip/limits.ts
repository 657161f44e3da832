/**
 * Resource limits applied to everything that arrives from the network: message size, header
 * count and a per-source token bucket, so one misbehaving phone cannot starve the others.
 */

export interface SipLimits {
  /** Largest accepted message (head + body) in bytes. */
  maxMessageBytes: number;
  /** Most header lines (after splitting multi-value headers) in one message. */
  maxHeaders: number;
  /** Per source IP rate limit, or false to disable (benchmarks, trusted upstreams). */
  rateLimit: { messagesPerSecond: number; burst: number } | false;
}

export const DEFAULT_LIMITS: Readonly<SipLimits> = {
  maxMessageBytes: 64 * 1024,
  maxHeaders: 128,
  rateLimit: { messagesPerSecond: 200, burst: 400 },
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
