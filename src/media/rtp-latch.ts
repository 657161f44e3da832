/**
 * Which source a login call's RTP is taken from (symmetric RTP, RFC 4961, "latching"): the first
 * RTP packet from the address the call's signalling came from fixes the phone's media source, and
 * from then on only packets from exactly that address and port belong to the call. Pure, so that
 * the call itself and the pod-wide port that decides whether a packet is the call's or another
 * replica's (rtp-port-pool.ts) decide alike.
 *
 * Requiring the signalling address keeps a stranger who guesses the port from being latched in the
 * phone's place (and from getting its prompts); a phone sends its SIP and its RTP through the same
 * NAT, so they share an address (RFC 4787 asks NATs for "paired" address pooling).
 */
export interface RtpEndpoint {
  address: string;
  port: number;
}

export interface LatchState {
  /** The source address of the call's INVITE; undefined: any first source (no signalling known). */
  signallingAddress?: string;
  /** The phone's media source, once latched. */
  latched?: RtpEndpoint;
}

/** latch: the first packet, fixing the source; accept: from the latched source; reject: not the call's. */
export type LatchVerdict = 'latch' | 'accept' | 'reject';

/** An IPv4 peer seen on a dual-stack socket is written ::ffff:a.b.c.d; it is the same address. */
export function comparableAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export function latchVerdict(state: LatchState, from: RtpEndpoint): LatchVerdict {
  if (state.latched) {
    return comparableAddress(state.latched.address) === comparableAddress(from.address) && state.latched.port === from.port ? 'accept' : 'reject';
  }
  if (state.signallingAddress !== undefined && comparableAddress(state.signallingAddress) !== comparableAddress(from.address)) return 'reject';
  return 'latch';
}
