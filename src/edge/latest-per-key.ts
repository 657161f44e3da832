/**
 * Runs at most one job per key at a time, and keeps at most one more pending: a job asked for
 * while one runs waits for it, and a newer ask replaces an older pending one (both get the newer
 * one's outcome). Used for check-sync NOTIFYs: a phone told twice while the first is still
 * unanswered needs to hear only once more, and never waits behind a queue of stale ones.
 */
export class LatestPerKey {
  readonly #running = new Map<string, Promise<void>>();
  readonly #pending = new Map<string, { job: () => Promise<void>; settle: Deferred }>();

  /** Runs `job` for `key` now, or after the running one; resolves when the job that ran for it ends. */
  run(key: string, job: () => Promise<void>): Promise<void> {
    if (!this.#running.has(key)) return this.#start(key, job);
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      // A newer ask replaces the older pending one: the job that runs is the latest.
      pending.job = job;
      return pending.settle.promise;
    }
    const settle = deferred();
    this.#pending.set(key, { job, settle });
    return settle.promise;
  }

  /** Jobs running or waiting, for tests and metrics. */
  get size(): { running: number; pending: number } {
    return { running: this.#running.size, pending: this.#pending.size };
  }

  #start(key: string, job: () => Promise<void>): Promise<void> {
    const promise = Promise.resolve().then(job);
    this.#running.set(key, promise);
    const next = (): void => {
      this.#running.delete(key);
      const pending = this.#pending.get(key);
      if (pending === undefined) return;
      this.#pending.delete(key);
      this.#start(key, pending.job).then(pending.settle.resolve, pending.settle.reject);
    };
    promise.then(next, next);
    return promise;
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
