/**
 * Collecting a PIN (or an extension) from key presses: a pure state machine. The caller feeds keys
 * and the current time, and asks when to look again; nothing here reads a clock or sets a timer.
 */
import type { DtmfKey } from './dtmf.ts';

export type CollectTermination = 'terminator' | 'max-digits' | 'inter-digit-timeout' | 'overall-timeout';

export interface CollectResult {
  /** The keys pressed, without the terminator. */
  digits: string;
  terminatedBy: CollectTermination;
}

export interface CollectOptions {
  maxDigits: number;
  /** Allowed silence between two keys, and before the first key unless firstDigitTimeoutMs is set. */
  interDigitTimeoutMs: number;
  firstDigitTimeoutMs?: number;
  /** Upper bound on the whole collection, however fast the keys come. */
  overallTimeoutMs?: number;
  /** Ends the entry without being part of it. Default "#". */
  terminator?: DtmfKey;
}

export class PinCollector {
  readonly #options: Required<Omit<CollectOptions, 'overallTimeoutMs'>> & { overallTimeoutMs: number };
  readonly #startedAt: number;
  #lastKeyAt: number | undefined;
  #digits = '';
  #result: CollectResult | undefined;

  constructor(options: CollectOptions, startedAt: number) {
    if (!Number.isInteger(options.maxDigits) || options.maxDigits < 1) throw new RangeError('maxDigits must be a positive integer');
    this.#options = {
      maxDigits: options.maxDigits,
      interDigitTimeoutMs: options.interDigitTimeoutMs,
      firstDigitTimeoutMs: options.firstDigitTimeoutMs ?? options.interDigitTimeoutMs,
      overallTimeoutMs: options.overallTimeoutMs ?? Number.POSITIVE_INFINITY,
      terminator: options.terminator ?? '#',
    };
    this.#startedAt = startedAt;
  }

  get result(): CollectResult | undefined {
    return this.#result;
  }

  /** Feeds one key pressed at `now`; returns the result once the entry is complete. */
  press(key: DtmfKey, now: number): CollectResult | undefined {
    if (this.#result) return this.#result;
    // A key that arrives after a deadline passed does not revive the entry.
    const expired = this.tick(now);
    if (expired) return expired;
    this.#lastKeyAt = now;
    if (key === this.#options.terminator) return this.#finish('terminator');
    this.#digits += key;
    if (this.#digits.length >= this.#options.maxDigits) return this.#finish('max-digits');
    return undefined;
  }

  /** Checks the deadlines at `now`; returns the result if one of them has passed. */
  tick(now: number): CollectResult | undefined {
    if (this.#result) return this.#result;
    if (now >= this.#overallDeadline()) return this.#finish('overall-timeout');
    if (now >= this.#keyDeadline()) return this.#finish('inter-digit-timeout');
    return undefined;
  }

  /** When tick() should next be called; undefined once the entry is complete. */
  nextDeadline(): number | undefined {
    if (this.#result) return undefined;
    return Math.min(this.#overallDeadline(), this.#keyDeadline());
  }

  #keyDeadline(): number {
    return this.#lastKeyAt === undefined ? this.#startedAt + this.#options.firstDigitTimeoutMs : this.#lastKeyAt + this.#options.interDigitTimeoutMs;
  }

  #overallDeadline(): number {
    return this.#startedAt + this.#options.overallTimeoutMs;
  }

  #finish(terminatedBy: CollectTermination): CollectResult {
    this.#result = { digits: this.#digits, terminatedBy };
    return this.#result;
  }
}
