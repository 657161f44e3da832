/**
 * One direction of an SRTP session (RFC 3711) under one master key: protect() turns RTP into SRTP
 * (AES-CM encryption of the payload, HMAC-SHA1 tag over header, encrypted payload and rollover
 * counter), unprotect() checks and decrypts what the peer sent. The tag is verified, in constant
 * time, before anything else is done with a packet, and a packet is only counted (rollover counter,
 * replay window) once it has been authenticated: forged or replayed packets change nothing.
 *
 * SDES keys one direction per master key, for every SSRC its sender uses (RFC 4568 section 6.1),
 * so a context keeps a rollover counter and a replay window per SSRC, a few at most.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { aesCmTransform, deriveSessionKeys, packetIv, type SrtpSessionKeys } from './srtp-key-derivation.ts';
import { SrtpReceiveIndex } from './srtp-replay.ts';
import { MAX_MASTER_KEY_PACKETS, type SrtpMasterKey, type SrtpSuite } from './srtp-suites.ts';

export type UnprotectFailure = 'malformed' | 'authentication' | 'replay' | 'key-expired' | 'too-many-sources';
export type UnprotectResult = { ok: true; packet: Buffer } | { ok: false; reason: UnprotectFailure };

/** SSRCs one peer may use under its key; a phone uses one, a re-INVITE or a transfer maybe another. */
const MAX_SOURCES = 8;
const RTP_FIXED_HEADER_BYTES = 12;

export interface SrtpContextOptions {
  suite: SrtpSuite;
  master: SrtpMasterKey;
  /** Packets the master key may protect (a=crypto lifetime); default and cap 2^31. */
  lifetime?: number;
}

/** Bytes of the RTP header (fixed part, CSRCs, header extension), or undefined if it does not fit in `packet`. */
export function rtpHeaderLength(packet: Buffer): number | undefined {
  if (packet.length < RTP_FIXED_HEADER_BYTES || (packet[0] ?? 0) >> 6 !== 2) return undefined;
  const first = packet[0] ?? 0;
  let length = RTP_FIXED_HEADER_BYTES + 4 * (first & 0x0f);
  if (first & 0x10) {
    if (packet.length < length + 4) return undefined;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return length <= packet.length ? length : undefined;
}

export class SrtpContext {
  readonly suite: SrtpSuite;
  readonly #keys: SrtpSessionKeys;
  readonly #lifetime: number;
  #packets = 0;
  readonly #sending = new Map<number, { roc: number; lastSeq: number }>();
  readonly #receiving = new Map<number, SrtpReceiveIndex>();

  constructor(opts: SrtpContextOptions) {
    this.suite = opts.suite;
    this.#keys = deriveSessionKeys(opts.master);
    this.#lifetime = Math.min(opts.lifetime ?? MAX_MASTER_KEY_PACKETS, MAX_MASTER_KEY_PACKETS);
  }

  /** Packets protected or accepted so far under this key. */
  get packets(): number {
    return this.#packets;
  }

  /** SRTP from one RTP packet; throws on a packet that is not RTP or once the key's lifetime is spent. */
  protect(rtp: Buffer): Buffer {
    const headerLength = rtpHeaderLength(rtp);
    if (headerLength === undefined) throw new RangeError('not an RTP packet');
    if (this.#packets >= this.#lifetime) throw new Error('the SRTP master key has reached its lifetime');
    const seq = rtp.readUInt16BE(2);
    const ssrc = rtp.readUInt32BE(8);
    const state = this.#sending.get(ssrc);
    let roc = state?.roc ?? 0;
    // Our own sequence numbers only go up: a smaller one is the 16-bit counter wrapping.
    if (state && seq < state.lastSeq && state.lastSeq - seq > 0x8000) roc = (roc + 1) >>> 0;
    this.#sending.set(ssrc, { roc, lastSeq: seq });
    this.#packets++;
    const iv = packetIv(this.#keys.salt, ssrc, SrtpReceiveIndex.index(roc, seq));
    const authenticated = Buffer.concat([rtp.subarray(0, headerLength), aesCmTransform(this.#keys.encryption, iv, rtp.subarray(headerLength))]);
    return Buffer.concat([authenticated, this.#tag(authenticated, roc)]);
  }

  /** RTP from one SRTP packet, or why it was dropped. */
  unprotect(srtp: Buffer): UnprotectResult {
    const tagBytes = this.suite.tagBytes;
    const authenticated = srtp.subarray(0, srtp.length - tagBytes);
    const headerLength = srtp.length >= tagBytes ? rtpHeaderLength(authenticated) : undefined;
    if (headerLength === undefined) return { ok: false, reason: 'malformed' };
    const seq = srtp.readUInt16BE(2);
    const ssrc = srtp.readUInt32BE(8);
    const known = this.#receiving.get(ssrc);
    if (!known && this.#receiving.size >= MAX_SOURCES) return { ok: false, reason: 'too-many-sources' };
    const index = known ?? new SrtpReceiveIndex();
    const roc = index.estimateRoc(seq);
    if (roc === undefined) return { ok: false, reason: 'replay' };
    if (!index.isFresh(SrtpReceiveIndex.index(roc, seq))) return { ok: false, reason: 'replay' };
    const expected = this.#tag(authenticated, roc);
    if (!timingSafeEqual(expected, srtp.subarray(srtp.length - tagBytes))) return { ok: false, reason: 'authentication' };
    if (this.#packets >= this.#lifetime) return { ok: false, reason: 'key-expired' };
    this.#packets++;
    index.commit(roc, seq);
    if (!known) this.#receiving.set(ssrc, index);
    const iv = packetIv(this.#keys.salt, ssrc, SrtpReceiveIndex.index(roc, seq));
    return { ok: true, packet: Buffer.concat([authenticated.subarray(0, headerLength), aesCmTransform(this.#keys.encryption, iv, authenticated.subarray(headerLength))]) };
  }

  /** HMAC-SHA1 over the authenticated portion and the rollover counter, cut to the suite's length. */
  #tag(authenticated: Buffer, roc: number): Buffer {
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0);
    return createHmac('sha1', this.#keys.authentication).update(authenticated).update(rocBytes).digest().subarray(0, this.suite.tagBytes);
  }
}
