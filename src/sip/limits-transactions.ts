/**
 * The global budget of transactions: how many may be live and how many bytes of messages they
 * may hold. Each transaction keeps its request (and the proxy a forwarded copy) for up to 32 s
 * on UDP, so without a budget a flood of large requests at an allowed rate grows the heap without
 * bound. Pure bookkeeping; the transaction layer charges and refunds, the proxy answers 503.
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
  #transactions = 0;
  #bytes = 0;

  constructor(maxTransactions: number, maxBytes: number) {
    this.#maxTransactions = maxTransactions;
    this.#maxBytes = maxBytes;
  }

  get transactions(): number {
    return this.#transactions;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a new transaction holding `bytes` fits. Only new incoming requests are refused. */
  admits(bytes: number): boolean {
    return this.#transactions < this.#maxTransactions && this.#bytes + bytes <= this.#maxBytes;
  }

  charge(bytes: number): void {
    this.#transactions++;
    this.#bytes += bytes;
  }

  refund(bytes: number): void {
    this.#transactions--;
    this.#bytes -= bytes;
  }
}
