import type { EdgeMetrics } from './edge-metrics.ts';

interface PendingLogin {
  extension: string;
  /** performance.now() at the last PIN digit. */
  lastDigitAt: number;
  notified: boolean;
}

const FORGET_AFTER_MS = 10 * 60_000;

/**
 * Follows a login from the last PIN digit to the NOTIFY that tells the phone to re-sync, and on
 * to the phone registering as the new user: the two latencies users feel.
 */
export class LoginTracker {
  readonly #metrics: EdgeMetrics;
  readonly #pending = new Map<string, PendingLogin>();

  constructor(metrics: EdgeMetrics) {
    this.#metrics = metrics;
  }

  started(device: string, extension: string, lastDigitAt: number): void {
    this.#pending.set(device, { extension, lastDigitAt, notified: false });
    setTimeout(() => {
      if (this.#pending.get(device)?.lastDigitAt === lastDigitAt) this.#pending.delete(device);
    }, FORGET_AFTER_MS).unref();
  }

  notifySent(device: string): void {
    const p = this.#pending.get(device);
    if (!p || p.notified) return;
    p.notified = true;
    this.#metrics.loginDuration.observe((performance.now() - p.lastDigitAt) / 1000);
  }

  registered(device: string, identity: string): void {
    const p = this.#pending.get(device);
    if (!p || p.extension !== identity) return;
    this.#pending.delete(device);
    this.#metrics.loginReregister.observe((performance.now() - p.lastDigitAt) / 1000);
  }
}
