/**
 * Admission of TCP/TLS connections: a cap in total and per source address, so one host cannot
 * hold every socket the edge can open. Pure bookkeeping; the transport does the accepting and
 * closing.
 */

export type ConnectionRefusal = 'total' | 'per_source';

export class ConnectionLimiter {
  readonly #maxTotal: number;
  readonly #maxPerSource: number;
  readonly #bySource = new Map<string, number>();
  #total = 0;

  constructor(maxTotal: number, maxPerSource: number) {
    if (!(maxTotal >= 1) || !(maxPerSource >= 1)) throw new RangeError('connection limits must be at least 1');
    this.#maxTotal = maxTotal;
    this.#maxPerSource = maxPerSource;
  }

  get total(): number {
    return this.#total;
  }

  /** Counts a new connection from `source`, or says why it must be refused (nothing counted then). */
  admit(source: string): ConnectionRefusal | undefined {
    if (this.#total >= this.#maxTotal) return 'total';
    const open = this.#bySource.get(source) ?? 0;
    if (open >= this.#maxPerSource) return 'per_source';
    this.#bySource.set(source, open + 1);
    this.#total++;
    return undefined;
  }

  /** A connection admitted from `source` has closed. */
  release(source: string): void {
    const open = this.#bySource.get(source);
    if (open === undefined) return;
    if (open <= 1) this.#bySource.delete(source);
    else this.#bySource.set(source, open - 1);
    this.#total--;
  }
}
