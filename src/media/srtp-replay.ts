/**
 * The receiving side's view of one SRTP stream's packet index (RFC 3711 section 3.3.1 and
 * Appendix A): a 16-bit sequence number on the wire, extended by a rollover counter the receiver
 * guesses, and a sliding replay window (section 3.3.2) over the highest index authenticated so far.
 * Pure: guesses are only committed once the packet they belong to has been authenticated.
 */

/** RFC 3711 asks for at least 64 packets; a phone's reordering stays far inside. */
export const REPLAY_WINDOW = 128;

export class SrtpReceiveIndex {
  #roc = 0;
  /** Highest sequence number authenticated so far; undefined until the first packet. */
  #highestSeq: number | undefined;
  /** Bit i set: index (highest - i) has been received. */
  #window = 0n;

  /** The rollover counter the packet with `seq` most likely belongs to (Appendix A), or undefined when that would be negative. */
  estimateRoc(seq: number): number | undefined {
    const sl = this.#highestSeq;
    if (sl === undefined) return this.#roc;
    let v = this.#roc;
    if (sl < 0x8000) {
      if (seq - sl > 0x8000) v = this.#roc - 1;
    } else if (sl - 0x8000 > seq) {
      v = this.#roc + 1;
    }
    return v < 0 || v > 0xffffffff ? undefined : v;
  }

  /** The 48-bit packet index of sequence number `seq` under rollover counter `roc`. */
  static index(roc: number, seq: number): number {
    return roc * 0x10000 + seq;
  }

  /** False when `index` was already received or lies behind the window (a replay or a packet too late to matter). */
  isFresh(index: number): boolean {
    if (this.#highestSeq === undefined) return true;
    const highest = SrtpReceiveIndex.index(this.#roc, this.#highestSeq);
    if (index > highest) return true;
    const behind = highest - index;
    if (behind >= REPLAY_WINDOW) return false;
    return ((this.#window >> BigInt(behind)) & 1n) === 0n;
  }

  /** Records an authenticated packet: the window slides when it is the newest. */
  commit(roc: number, seq: number): void {
    const index = SrtpReceiveIndex.index(roc, seq);
    if (this.#highestSeq === undefined) {
      this.#roc = roc;
      this.#highestSeq = seq;
      this.#window = 1n;
      return;
    }
    const highest = SrtpReceiveIndex.index(this.#roc, this.#highestSeq);
    const mask = (1n << BigInt(REPLAY_WINDOW)) - 1n;
    if (index > highest) {
      const ahead = index - highest;
      this.#window = ahead >= REPLAY_WINDOW ? 1n : ((this.#window << BigInt(ahead)) | 1n) & mask;
      this.#roc = roc;
      this.#highestSeq = seq;
    } else {
      this.#window |= 1n << BigInt(highest - index);
    }
  }
}
