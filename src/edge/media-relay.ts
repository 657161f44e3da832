/**
 * The login IVR's media relay between the edge replicas of one pool. kube-proxy keeps ClientIP
 * affinity per Service port, so a phone whose login call this replica answered (its SIP came here)
 * may send its RTP to the IVR's port on another replica. Every replica binds every RTP port
 * (rtp-port-pool.ts); this carries such a packet, pod IP to pod IP on the relay port, to the
 * replica whose call it is, and that call's packets back to the phone through the relaying
 * replica, which sends them from its own socket on the port the phone sent to (so the phone's NAT
 * and kube-proxy's conntrack see the reply come from where the phone sent).
 *
 * Who owns a call: each replica claims (port, phone address) for its calls to the other ready
 * replicas, renews the claims every second and releases them when the call ends
 * (media-relay-table.ts). Only ready endpoints of the pool's own Service are peers (replica-peers.ts,
 * the same list SIP forwarding trusts): datagrams from any other address are dropped, and a peer
 * can make this replica send only to a phone that sent to it lately, on that port, for that peer's
 * call. Nothing malformed crashes it: it is dropped and counted.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { RtpEndpoint } from '../media/rtp-latch.ts';
import type { RtpPortPool, RtpPortPoolHooks } from '../media/rtp-port-pool.ts';
import { decodeRelayDatagram, encodeRelayDatagram, MAX_RELAYED_PAYLOAD, type RelayKind } from './media-relay-datagram.ts';
import { MediaRelayMetrics } from './media-relay-metrics.ts';
import { CLAIM_RENEW_MS, RelayTable } from './media-relay-table.ts';
import { replicaAddress } from './replica-peers.ts';

export interface MediaRelayOptions {
  /** Address to bind the relay socket on (the pod's, or every address). */
  host: string;
  /** The relay port, the same on every replica of the pool. */
  port: number;
  /** This replica's own address among the peers (its pod IP): never a peer of itself. */
  ownAddress: () => string;
  /** Ready replicas of the pool as `host:port` names (replica-peers.ts). */
  peers: { list(): string[]; isPeerAddress(address: string): boolean };
  registry: Registry;
  logger?: Logger;
  now?: () => number;
}

export class MediaRelay {
  readonly #socket: Socket;
  readonly #opts: MediaRelayOptions;
  readonly #table = new RelayTable();
  readonly #metrics: MediaRelayMetrics;
  readonly #now: () => number;
  /** This replica's calls, as (port, phone address) claims to renew. */
  readonly #ownClaims = new Map<string, { rtpPort: number; address: string }>();
  readonly #renewal: NodeJS.Timeout;
  #pool: () => RtpPortPool | undefined = () => undefined;

  private constructor(socket: Socket, opts: MediaRelayOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#metrics = new MediaRelayMetrics(opts.registry, () => this.#table.relays);
    socket.on('message', (msg, from) => this.#receive(msg, from));
    socket.on('error', (err) => opts.logger?.warn({ err: err.message }, 'media relay socket error'));
    this.#renewal = setInterval(() => this.#renew(), CLAIM_RENEW_MS);
    this.#renewal.unref();
  }

  static async start(opts: MediaRelayOptions): Promise<MediaRelay> {
    const socket = createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      socket.close();
      throw new Error(`cannot bind the media relay port ${opts.host}:${opts.port}: ${err.message}`);
    });
    return new MediaRelay(socket, opts);
  }

  /** The port pool's side of the relay: what it calls for strays, for calls' packets and for borrowed ports. */
  hooksFor(pool: () => RtpPortPool | undefined): RtpPortPoolHooks {
    this.#pool = pool;
    return {
      stray: (port, datagram, from) => this.#relayFromPhone(port, datagram, from),
      sendThrough: (peer, port, to, datagram, done) => this.#send(peer, 'to-phone', port, to, datagram, done),
      borrowed: (port, address) => {
        if (address !== undefined) this.#claim(port, address);
      },
      returned: (port, address) => {
        if (address !== undefined) this.#release(port, address);
      },
      heldElsewhere: (port, address) => address !== undefined && this.#table.heldElsewhere(port, address, this.#now()),
    };
  }

  /** Gives this replica's claims up (a shutting-down replica's calls are over) and closes the socket. */
  async close(): Promise<void> {
    clearInterval(this.#renewal);
    for (const { rtpPort, address } of this.#ownClaims.values()) this.#announce('release', rtpPort, address);
    this.#ownClaims.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #peerAddresses(): string[] {
    const own = this.#opts.ownAddress();
    const addresses: string[] = [];
    for (const name of this.#opts.peers.list()) {
      const address = replicaAddress(name, 'udp')?.address;
      if (address && address !== own) addresses.push(address);
    }
    return addresses;
  }

  #isReadyPeer(address: string): boolean {
    return address !== this.#opts.ownAddress() && this.#opts.peers.isPeerAddress(address);
  }

  #claim(rtpPort: number, address: string): void {
    this.#ownClaims.set(`${rtpPort} ${address}`, { rtpPort, address });
    this.#announce('claim', rtpPort, address);
  }

  #release(rtpPort: number, address: string): void {
    this.#ownClaims.delete(`${rtpPort} ${address}`);
    this.#announce('release', rtpPort, address);
  }

  #announce(kind: 'claim' | 'release', rtpPort: number, address: string): void {
    for (const peer of this.#peerAddresses()) this.#send(peer, kind, rtpPort, { address, port: 0 }, Buffer.alloc(0));
  }

  #renew(): void {
    for (const { rtpPort, address } of this.#ownClaims.values()) this.#announce('claim', rtpPort, address);
    this.#table.sweep(this.#now());
  }

  #send(peer: string, kind: RelayKind, rtpPort: number, phone: RtpEndpoint, payload: Buffer, done: (err: Error | null) => void = () => undefined): void {
    let datagram: Buffer;
    try {
      datagram = encodeRelayDatagram({ kind, rtpPort, phone, payload });
    } catch (err) {
      done(err as Error);
      return;
    }
    try {
      this.#socket.send(datagram, this.#opts.port, peer, (err) => done(err ?? null));
    } catch (err) {
      done(err as Error); // the relay is closing with the pod
    }
  }

  /** A phone's datagram on a port where no call of ours takes it: to the peer whose call it is, if any. */
  #relayFromPhone(rtpPort: number, datagram: Buffer, from: RtpEndpoint): void {
    const owner = this.#table.route(rtpPort, from, this.#now(), (address) => this.#isReadyPeer(address));
    if (owner === undefined) {
      this.#metrics.dropped.inc({ reason: 'no_owner' });
      return;
    }
    if (datagram.length === 0 || datagram.length > MAX_RELAYED_PAYLOAD) {
      this.#metrics.dropped.inc({ reason: 'too_large' });
      return;
    }
    this.#send(owner, 'from-phone', rtpPort, from, datagram);
    this.#metrics.relayed.inc({ direction: 'to_owner' });
  }

  #receive(msg: Buffer, from: RemoteInfo): void {
    // Peers send from their relay socket, bound to the same port as ours.
    if (from.port !== this.#opts.port || !this.#isReadyPeer(from.address)) {
      this.#metrics.dropped.inc({ reason: 'not_peer' });
      return;
    }
    const decoded = decodeRelayDatagram(msg);
    if (!decoded.ok) {
      this.#metrics.dropped.inc({ reason: 'malformed' });
      this.#opts.logger?.debug({ peer: from.address, problem: decoded.problem }, 'malformed media relay datagram dropped');
      return;
    }
    const { kind, rtpPort, phone, payload } = decoded.datagram;
    const peer = from.address;
    const now = this.#now();
    switch (kind) {
      case 'claim':
        this.#table.claim(peer, rtpPort, phone.address, now);
        return;
      case 'release':
        this.#table.release(peer, rtpPort, phone.address);
        return;
      case 'from-phone':
        // The phone reached a peer with RTP for our call: it takes it only if it is that call's phone.
        if (!this.#pool()?.deliverRelayed(rtpPort, payload, phone, peer)) this.#metrics.dropped.inc({ reason: 'no_call' });
        return;
      case 'to-phone': {
        const pool = this.#pool();
        if (!pool || !this.#table.mayRelayToPhone(peer, rtpPort, phone, now)) {
          this.#metrics.dropped.inc({ reason: 'no_relay' });
          return;
        }
        pool.sendFrom(rtpPort, payload, phone);
        this.#metrics.relayed.inc({ direction: 'to_phone' });
      }
    }
  }
}
