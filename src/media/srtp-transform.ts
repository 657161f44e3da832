/**
 * SDES-SRTP on an RTP session: our packets protected with our key, the caller's unprotected with
 * theirs (each direction its own SRTP context, RFC 4568 section 6.1). Packets that fail are dropped
 * and counted by reason, never logged with their content.
 */
import type { RtpPacketTransform } from './rtp-session.ts';
import { SrtpContext, type UnprotectFailure } from './srtp-context.ts';
import type { NegotiatedSrtp } from './sdp.ts';

export class SrtpTransform implements RtpPacketTransform {
  readonly negotiated: NegotiatedSrtp;
  readonly #outbound: SrtpContext;
  readonly #inbound: SrtpContext;
  readonly #dropped = new Map<UnprotectFailure, number>();

  /** `previous`: the transform a re-INVITE replaces; a direction whose key stayed keeps its context (and rollover counter). */
  constructor(negotiated: NegotiatedSrtp, previous?: SrtpTransform) {
    this.negotiated = negotiated;
    const same = previous?.negotiated;
    this.#outbound = same && same.local === negotiated.local && same.suite === negotiated.suite ? previous.#outbound : new SrtpContext({ suite: negotiated.suite, master: negotiated.local });
    this.#inbound =
      same && same.suite === negotiated.suite && same.remote.concatenated.equals(negotiated.remote.concatenated)
        ? previous.#inbound
        : new SrtpContext({ suite: negotiated.suite, master: negotiated.remote, ...(negotiated.remoteLifetime !== undefined ? { lifetime: negotiated.remoteLifetime } : {}) });
  }

  protect(rtp: Buffer): Buffer {
    return this.#outbound.protect(rtp);
  }

  unprotect(datagram: Buffer): Buffer | undefined {
    const result = this.#inbound.unprotect(datagram);
    if (result.ok) return result.packet;
    this.#dropped.set(result.reason, (this.#dropped.get(result.reason) ?? 0) + 1);
    return undefined;
  }

  /** Datagrams dropped so far, by reason (for the call's log line). */
  get dropped(): Record<string, number> {
    return Object.fromEntries(this.#dropped);
  }
}
