/**
 * Every RTP port of the pool's range, bound by this pod when it starts, whether a call uses it or
 * not. kube-proxy keeps a Service's ClientIP affinity per port, so a phone whose SIP reached this
 * pod may send its RTP to a port on another pod: with every port bound everywhere, that packet
 * meets a socket wherever it lands, and the media relay (src/edge/media-relay.ts) carries it to the
 * pod whose call it is.
 *
 * A login call borrows one free port. A datagram arriving on a port goes to the call that borrowed
 * it when the call takes it (rtp-latch.ts: the phone's first source, from the address its INVITE
 * came from, then only that source); anything else is a stray, handed to the relay. The call's
 * packets to the phone go back the way the phone's last packet came: straight from this port, or
 * through the relaying pod, which sends them from its own socket on the same port, so the phone's
 * NAT and kube-proxy's conntrack see replies from the address and port the phone sent to.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { latchVerdict, type LatchState, type RtpEndpoint } from './rtp-latch.ts';
import { decodeRtpPacket } from './rtp-packet.ts';
import type { RtpPortSource, RtpSocket } from './rtp-session.ts';

export interface RtpPortPoolHooks {
  /** A datagram on `port` that no call of this pod takes. */
  stray(port: number, datagram: Buffer, from: RtpEndpoint): void;
  /** Send a call's packet to the phone through the peer its packets came through. */
  sendThrough(peer: string, port: number, to: RtpEndpoint, datagram: Buffer, done: (err: Error | null) => void): void;
  /** A call took `port` for the phone at `signallingAddress`, or gave it back. */
  borrowed(port: number, signallingAddress: string | undefined): void;
  returned(port: number, signallingAddress: string | undefined): void;
  /** Whether another pod's call holds `port` for this address: that port is best left to it. */
  heldElsewhere?(port: number, signallingAddress: string | undefined): boolean;
}

/** The even ports of a `min-max` range, as RTP uses them. */
export function evenPorts(range: { min: number; max: number }): number[] {
  const ports: number[] = [];
  for (let port = range.min % 2 === 0 ? range.min : range.min + 1; port <= range.max; port += 2) ports.push(port);
  return ports;
}

function bindSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

interface PortLeaseEvents {
  message: [msg: Buffer, from: RemoteInfo];
  error: [err: Error];
}

/** One call's use of a port: the RtpSocket its RtpSession talks through. */
class PortLease extends EventEmitter<PortLeaseEvents> implements RtpSocket {
  readonly port: number;
  readonly #pool: RtpPortPool;
  readonly #latch: LatchState;
  /** The peer the phone's last packet came through; undefined: straight to this pod. */
  #via: string | undefined;
  #closed = false;

  constructor(pool: RtpPortPool, port: number, signallingAddress: string | undefined) {
    super();
    this.#pool = pool;
    this.port = port;
    this.#latch = signallingAddress !== undefined ? { signallingAddress } : {};
  }

  get signallingAddress(): string | undefined {
    return this.#latch.signallingAddress;
  }

  /** Takes the datagram when it is this call's; false leaves it to the relay. */
  offer(datagram: Buffer, from: RtpEndpoint, via: string | undefined): boolean {
    if (this.#closed) return false;
    const verdict = latchVerdict(this.#latch, from);
    if (verdict === 'reject') return false;
    if (verdict === 'latch' && !decodeRtpPacket(datagram).ok) return false;
    const viaBefore = this.#via;
    this.#via = via;
    const family = from.address.includes(':') ? 'IPv6' : 'IPv4';
    this.emit('message', datagram, { address: from.address, port: from.port, family, size: datagram.length });
    // Only what the session itself takes (RTP that SRTP authenticated) fixes the source, through
    // latched() during that emit: a packet it refused is left to the relay, for a peer's call.
    if (verdict === 'latch' && this.#latch.latched === undefined) {
      this.#via = viaBefore;
      return false;
    }
    return true;
  }

  latched(remote: RtpEndpoint): void {
    this.#latch.latched = { address: remote.address, port: remote.port };
  }

  send(msg: Buffer, port: number, address: string, callback?: (err: Error | null) => void): void {
    const done = callback ?? ((err: Error | null) => err && this.emit('error', err));
    const latched = this.#latch.latched;
    const toPhone = latched !== undefined && latched.port === port && latched.address === address;
    if (this.#via !== undefined && toPhone) this.#pool.hooks.sendThrough(this.#via, this.port, { address, port }, msg, done);
    else this.#pool.sendFrom(this.port, msg, { address, port }, done);
  }

  address(): { address: string; port: number } {
    return { address: this.#pool.host, port: this.port };
  }

  close(callback?: () => void): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#pool.giveBack(this);
    }
    callback?.();
  }
}

export class RtpPortPool implements RtpPortSource {
  readonly host: string;
  readonly hooks: RtpPortPoolHooks;
  readonly #sockets: ReadonlyMap<number, Socket>;
  readonly #leases = new Map<number, PortLease>();

  private constructor(host: string, sockets: Map<number, Socket>, hooks: RtpPortPoolHooks) {
    this.host = host;
    this.#sockets = sockets;
    this.hooks = hooks;
    for (const [port, socket] of sockets) {
      socket.on('message', (datagram, from) => this.#receive(port, datagram, { address: from.address, port: from.port }));
      // An ICMP error surfacing on a send must not take the pod down; the call's own timers end it.
      socket.on('error', () => undefined);
    }
  }

  /** Binds every port on `host`; a port that is taken fails the start, naming it. */
  static async bind(host: string, ports: readonly number[], hooks: RtpPortPoolHooks): Promise<RtpPortPool> {
    const sockets = new Map<number, Socket>();
    try {
      for (const port of ports) {
        sockets.set(port, await bindSocket(host, port).catch((err: Error) => {
          throw new Error(`cannot bind RTP port ${host}:${port}: ${err.message}`);
        }));
      }
    } catch (err) {
      for (const socket of sockets.values()) socket.close();
      throw err;
    }
    return new RtpPortPool(host, sockets, hooks);
  }

  get ports(): number[] {
    return [...this.#sockets.keys()];
  }

  /** Ports borrowed by calls of this pod now. */
  get inUse(): number {
    return this.#leases.size;
  }

  /**
   * A free port for a call from `signallingAddress`, starting at a random one so that calls spread
   * over the range; one another pod's call holds for the same address is taken only when no other is free.
   */
  borrow(signallingAddress: string | undefined): RtpSocket | undefined {
    const ports = this.ports;
    const offset = randomInt(Math.max(ports.length, 1));
    let fallback: number | undefined;
    for (let i = 0; i < ports.length; i++) {
      const port = ports[(offset + i) % ports.length]!;
      if (this.#leases.has(port)) continue;
      if (this.hooks.heldElsewhere?.(port, signallingAddress)) {
        fallback ??= port;
        continue;
      }
      return this.#lend(port, signallingAddress);
    }
    return fallback === undefined ? undefined : this.#lend(fallback, signallingAddress);
  }

  /** A datagram another pod relayed to us: true when the call on `port` took it. */
  deliverRelayed(port: number, datagram: Buffer, from: RtpEndpoint, via: string): boolean {
    return this.#leases.get(port)?.offer(datagram, from, via) ?? false;
  }

  /** Sends from this pod's socket on `port` (a call's own packet, or one relayed for another pod's call). */
  sendFrom(port: number, datagram: Buffer, to: RtpEndpoint, done: (err: Error | null) => void = () => undefined): void {
    const socket = this.#sockets.get(port);
    if (!socket) {
      done(new Error(`RTP port ${port} is not bound here`));
      return;
    }
    try {
      socket.send(datagram, to.port, to.address, done);
    } catch (err) {
      // Closed while the pod stops, with a call still playing: that call is ending too.
      done(err as Error);
    }
  }

  giveBack(lease: PortLease): void {
    if (this.#leases.get(lease.port) !== lease) return;
    this.#leases.delete(lease.port);
    this.hooks.returned(lease.port, lease.signallingAddress);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sockets.values()].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  #lend(port: number, signallingAddress: string | undefined): PortLease {
    const lease = new PortLease(this, port, signallingAddress);
    this.#leases.set(port, lease);
    this.hooks.borrowed(port, signallingAddress);
    return lease;
  }

  #receive(port: number, datagram: Buffer, from: RtpEndpoint): void {
    if (this.#leases.get(port)?.offer(datagram, from, undefined)) return;
    this.hooks.stray(port, datagram, from);
  }
}
