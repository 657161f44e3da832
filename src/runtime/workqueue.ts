import { ItemExponentialBackoff, TokenBucket, type ItemBackoffOptions, type TokenBucketOptions } from './backoff.ts';
import { realClock, type Clock, type TimerHandle } from './clock.ts';

/** What a queue reports; metrics plug in here from outside. Durations are in seconds. */
export interface WorkQueueListener {
  depth?(depth: number): void;
  added?(): void;
  retried?(): void;
  queueDuration?(seconds: number): void;
  workDuration?(seconds: number): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  /** Per-key backoff for addRateLimited: base 5 ms, cap 1000 s unless set. */
  backoff?: ItemBackoffOptions;
  /** Global limit on addRateLimited: 10 qps, burst 100 unless set. */
  rateLimit?: TokenBucketOptions;
  listeners?: WorkQueueListener[];
}

/**
 * Keyed work queue in the client-go style: a key is held at most once whether it is waiting or
 * being worked on; a key added while in flight is queued again once, after done().
 */
export class WorkQueue<K = string> {
  private readonly clock: Clock;
  private readonly backoff: ItemExponentialBackoff<K>;
  private readonly bucket: TokenBucket;
  private readonly listeners: WorkQueueListener[];

  private queue: K[] = [];
  private dirty = new Set<K>();
  private processing = new Map<K, number>();
  private enqueuedAt = new Map<K, number>();
  private delayed = new Map<K, { at: number; timer: TimerHandle }>();
  private waiters: Array<(key: K | undefined) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.backoff = new ItemExponentialBackoff<K>(opts.backoff);
    this.bucket = new TokenBucket(this.clock, opts.rateLimit);
    this.listeners = opts.listeners ? [...opts.listeners] : [];
  }

  addListener(listener: WorkQueueListener): void {
    this.listeners.push(listener);
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.emit((l) => l.added?.());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds key after ms; of several pending delays for one key the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.at <= at) return;
      this.clock.clearTimer(pending.timer);
    }
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds a failed key after its exponential backoff or the global rate limit, whichever is longer. */
  addRateLimited(key: K): number {
    const delay = Math.max(this.backoff.when(key), this.bucket.reserve());
    this.emit((l) => l.retried?.());
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears key's failure history; call it after a success. */
  forget(key: K): void {
    this.backoff.forget(key);
  }

  numRequeues(key: K): number {
    return this.backoff.numRequeues(key);
  }

  len(): number {
    return this.queue.length;
  }

  inFlight(): number {
    return this.processing.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Waits for the next key; undefined once the queue is shut down or signal aborts. */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => {
      const waiter = (k: K | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(k);
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Marks key as finished; if it was added meanwhile it goes back in the queue. */
  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.emit((l) => l.workDuration?.((this.clock.now() - started) / 1000));
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Stops taking new work: adds are ignored, waiting and later get() calls return undefined, and
   * keys still queued are dropped. Resolves once every key in flight is done() (drain).
   */
  shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimer(timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.queue = [];
    for (const k of [...this.dirty]) if (!this.processing.has(k)) this.dirty.delete(k);
    this.emit((l) => l.depth?.(0));
    return this.drained();
  }

  /** Resolves when nothing is in flight. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: K): void {
    this.enqueuedAt.set(key, this.clock.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.startProcessing(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.emit((l) => l.depth?.(this.queue.length));
  }

  private take(): K | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.emit((l) => l.depth?.(this.queue.length));
    this.startProcessing(key);
    return key;
  }

  private startProcessing(key: K): void {
    const now = this.clock.now();
    const queuedAt = this.enqueuedAt.get(key) ?? now;
    this.enqueuedAt.delete(key);
    this.emit((l) => l.queueDuration?.((now - queuedAt) / 1000));
    this.dirty.delete(key);
    this.processing.set(key, now);
  }

  private emit(fn: (l: WorkQueueListener) => void): void {
    for (const l of this.listeners) fn(l);
  }
}
