/**
 * The global budget of transactions: how many may be live and how many bytes of messages they
 * may hold. Each transaction keeps its request (and the proxy a forwarded copy) for up to 32 s
 * on UDP, so without a budget a flood of large requests at an allowed rate grows the heap without
 * bound. Each source's server transactions may hold only a share of the bytes, so one source
 * cannot spend the budget of all. Pure bookkeeping; the transaction layer charges and refunds,
 * the proxy answers 503.
 */
import type { SipMessage } from './message.ts';

/** Roughly what a parsed message occupies: start line, header text and body. */
export function messageBytes(message: SipMessage): number {
  let bytes = message.body.length + (message.kind === 'request' ? message.method.length + message.uri.length : message.reason.length) + 16;
  for (const header of message.headers) bytes += header.name.length + header.value.length + 4;
  return bytes;
}

export class TransactionBudget {
  readonly #maxTransactions: number;
  readonly #maxBytes: number;
  readonly #maxBytesPerSource: number;
  /** Bytes held by the server transactions of each source that holds any. */
  readonly #bySource = new Map<string, number>();
  #transactions = 0;
  #bytes = 0;

  constructor(maxTransactions: number, maxBytes: number, maxBytesPerSource = Infinity) {
    this.#maxTransactions = maxTransactions;
    this.#maxBytes = maxBytes;
    this.#maxBytesPerSource = maxBytesPerSource;
  }

  get transactions(): number {
    return this.#transactions;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether a new transaction holding `bytes` fits, in total and within its source's share (no
   * source given: a trusted one, or a transaction we start). Only new incoming requests are refused.
   */
  admits(bytes: number, source?: string): boolean {
    if (this.#transactions >= this.#maxTransactions || this.#bytes + bytes > this.#maxBytes) return false;
    return source === undefined || (this.#bySource.get(source) ?? 0) + bytes <= this.#maxBytesPerSource;
  }

  charge(bytes: number, source?: string): void {
    this.#transactions++;
    this.#bytes += bytes;
    if (source !== undefined) this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + bytes);
  }

  refund(bytes: number, source?: string): void {
    this.#transactions--;
    this.#bytes -= bytes;
    if (source === undefined) return;
    const left = (this.#bySource.get(source) ?? 0) - bytes;
    if (left > 0) this.#bySource.set(source, left);
    else this.#bySource.delete(source);
  }
}
