/**
 * What a replica knows about the other replicas' login calls, and the relays it runs for them.
 * Pure (the clock is passed in), so the decisions are tested as tables; media-relay.ts does the I/O.
 *
 * Ownership is by port and phone address together: a replica's call on port P announces (claims)
 * "P for the phone at address X". Affinity brings all SIP from X to one replica, and a replica runs
 * one call per port, so (P, X) names one call in the pool; two replicas may use the same port for
 * phones at different addresses at once, and each replica keeps its whole range. Claims expire
 * unless renewed, so a replica that dies takes its claims with it.
 */
import { comparableAddress, type RtpEndpoint } from '../media/rtp-latch.ts';

/** The owner renews its claims this often... */
export const CLAIM_RENEW_MS = 1_000;
/** ...and a claim not renewed for this long is forgotten (three renewals lost, or the owner gone). */
export const CLAIM_TTL_MS = 3_500;
/** A relay whose phone has sent nothing for this long is forgotten; its owner's packets are then dropped. */
export const RELAY_IDLE_MS = 30_000;

interface Claim {
  owner: string;
  expiresAt: number;
}

interface Relay {
  owner: string;
  rtpPort: number;
  claimKey: string;
  lastFromPhone: number;
}

function claimKey(rtpPort: number, address: string): string {
  return `${rtpPort} ${comparableAddress(address)}`;
}

function relayKey(rtpPort: number, phone: RtpEndpoint): string {
  return `${claimKey(rtpPort, phone.address)} ${phone.port}`;
}

export class RelayTable {
  readonly #claims = new Map<string, Claim>();
  readonly #relays = new Map<string, Relay>();

  /** `owner` (a peer's address) runs the call on `rtpPort` for the phone at `address`; the latest claim wins. */
  claim(owner: string, rtpPort: number, address: string, now: number): void {
    this.#claims.set(claimKey(rtpPort, address), { owner, expiresAt: now + CLAIM_TTL_MS });
  }

  /** The owner's call ended: its claim and the relays for it go. Another owner's claim stays. */
  release(owner: string, rtpPort: number, address: string): void {
    const key = claimKey(rtpPort, address);
    if (this.#claims.get(key)?.owner === owner) this.#claims.delete(key);
    for (const [k, relay] of this.#relays) if (relay.claimKey === key && relay.owner === owner) this.#relays.delete(k);
  }

  /**
   * Where a phone's datagram on `rtpPort` that no call here took goes: the ready peer that claims
   * (rtpPort, its address), or undefined (nobody's: dropped). Relaying keeps the relay alive.
   */
  route(rtpPort: number, from: RtpEndpoint, now: number, isReadyPeer: (owner: string) => boolean): string | undefined {
    const key = claimKey(rtpPort, from.address);
    const claim = this.#claims.get(key);
    if (!claim || claim.expiresAt <= now || !isReadyPeer(claim.owner)) return undefined;
    const rk = relayKey(rtpPort, from);
    const relay = this.#relays.get(rk);
    if (relay && relay.owner === claim.owner) relay.lastFromPhone = now;
    else this.#relays.set(rk, { owner: claim.owner, rtpPort, claimKey: key, lastFromPhone: now });
    return claim.owner;
  }

  /**
   * Whether `owner` may have a datagram sent to `phone` from this replica's `rtpPort`: only to a
   * phone that sent to this port lately, for that owner's call. So neither a peer nor anyone posing
   * as one can make this replica send to an address of its choosing.
   */
  mayRelayToPhone(owner: string, rtpPort: number, phone: RtpEndpoint, now: number): boolean {
    const relay = this.#relays.get(relayKey(rtpPort, phone));
    return relay !== undefined && relay.owner === owner && now - relay.lastFromPhone < RELAY_IDLE_MS;
  }

  /** Whether a live claim of another replica names (rtpPort, address): a local call had better pick another port. */
  heldElsewhere(rtpPort: number, address: string, now: number): boolean {
    const claim = this.#claims.get(claimKey(rtpPort, address));
    return claim !== undefined && claim.expiresAt > now;
  }

  /** Forgets expired claims, relays gone silent, and relays whose claim is gone. */
  sweep(now: number): void {
    for (const [key, claim] of this.#claims) if (claim.expiresAt <= now) this.#claims.delete(key);
    for (const [key, relay] of this.#relays) {
      const claim = this.#claims.get(relay.claimKey);
      if (now - relay.lastFromPhone >= RELAY_IDLE_MS || claim?.owner !== relay.owner) this.#relays.delete(key);
    }
  }

  /** Relays running now: phones whose RTP this replica passes to another's call. */
  get relays(): number {
    return this.#relays.size;
  }

  get claims(): number {
    return this.#claims.size;
  }
}
