import type { Clock } from './clock.ts';

/** Delay before retry number `failures` (1-based): base·2^(failures-1), capped. */
export function exponentialDelay(failures: number, baseMs: number, capMs: number): number {
  if (failures <= 0) return 0;
  // 2^1024 overflows to Infinity; the cap wins long before that matters.
  const raw = baseMs * 2 ** Math.min(failures - 1, 1000);
  return Math.min(raw, capMs);
}

/**
 * Adds up to `factor` of the delay at random, so that many clients failing together do not
 * retry together.
 */
export function withJitter(delayMs: number, factor: number, random: () => number = Math.random): number {
  return delayMs + delayMs * factor * random();
}

export interface ItemBackoffOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Per-key failure counting with exponential delays; forget() starts a key over. */
export class ItemExponentialBackoff<K> {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  private failures = new Map<K, number>();

  constructor(opts: ItemBackoffOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
  }

  /** Counts one more failure of key and returns how long to wait before retrying it. */
  when(key: K): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return exponentialDelay(n, this.baseDelayMs, this.maxDelayMs);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }
}

export interface TokenBucketOptions {
  qps?: number;
  burst?: number;
}

/**
 * Global rate limit: `burst` tokens, refilled at `qps`. reserve() always succeeds and says how
 * long the caller must wait for its token, so a flood of retries is spread out instead of dropped.
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private clock: Clock;

  constructor(clock: Clock, opts: TokenBucketOptions = {}) {
    this.clock = clock;
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.tokens = this.burst;
    this.last = clock.now();
  }

  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.qps) * 1000);
  }
}
