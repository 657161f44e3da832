import { Counter, Gauge, type Registry } from 'prom-client';

export type RelayDirection = 'to_owner' | 'to_phone';
/**
 * Why a datagram was not relayed. not_peer: on the relay port from an address that is not a ready
 * replica of the pool; malformed: not a relay datagram; no_owner: RTP on a port no replica's call
 * claims for its source (late packets after a call ended, or a stranger); no_call: relayed here for
 * a call that is over, or from another source than its phone; no_relay: a peer's packet for a phone
 * that has not sent here lately; too_large: more than a relay datagram carries.
 */
export type RelayDrop = 'not_peer' | 'malformed' | 'no_owner' | 'no_call' | 'no_relay' | 'too_large';

/** The media relay's metrics (media-relay.ts). Labels are directions and reasons, never an address. */
export class MediaRelayMetrics {
  readonly relayed: Counter<'direction'>;
  readonly dropped: Counter<'reason'>;
  readonly relays: Gauge;

  constructor(registry: Registry, runningRelays: () => number) {
    const registers = [registry];
    this.relayed = new Counter({
      name: 'hotdesk_edge_rtp_relayed_packets_total',
      help: 'Login IVR RTP packets this replica relayed for another replica\'s call, by direction (to_owner: a phone\'s packet passed to the replica whose call it is; to_phone: that call\'s packet sent on to the phone)',
      labelNames: ['direction'],
      registers,
    });
    this.dropped = new Counter({ name: 'hotdesk_edge_rtp_relay_dropped_total', help: 'Datagrams the media relay dropped, by reason', labelNames: ['reason'], registers });
    this.relays = new Gauge({
      name: 'hotdesk_edge_rtp_relays', help: 'Phones whose login IVR RTP this replica relays to another replica now', registers,
      collect() {
        this.set(runningRelays());
      },
    });
    // Every series at zero from the start: a rate over a series that never existed draws nothing.
    for (const direction of ['to_owner', 'to_phone'] satisfies RelayDirection[]) this.relayed.inc({ direction }, 0);
    for (const reason of ['not_peer', 'malformed', 'no_owner', 'no_call', 'no_relay', 'too_large'] satisfies RelayDrop[]) this.dropped.inc({ reason }, 0);
  }
}
