/**
 * One RTP stream on a UDP socket: sends G.711 audio in 20 ms packets paced against a fixed start
 * time, and emits every RTP packet it receives. Sequence numbers and timestamps run on one timeline
 * for the life of the session, so a receiver's jitter buffer sees a single stream across prompts.
 *
 * It sends only to where the peer's own RTP comes from: the source of the first RTP packet it
 * receives (symmetric RTP, RFC 4961; "latching"), never to an address named in signalling. So an
 * offer naming someone else's address makes us send nothing to it, and the phone's media gets
 * through NAT. Until then a prompt runs its course in silence. A budget bounds the packets one
 * session ever sends.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRtpPacket, encodeRtpPacket, type RtpPacket } from './rtp-packet.ts';
import { lawForPayloadType, silenceByte } from './g711.ts';
import { latchVerdict } from './rtp-latch.ts';

export const SAMPLES_PER_PACKET = 160;
export const PACKET_INTERVAL_MS = 20;
/** How far behind schedule the sender may fall before it re-anchors instead of bursting to catch up. */
const MAX_CATCH_UP_MS = 3 * PACKET_INTERVAL_MS;

export interface RtpEndpoint {
  address: string;
  port: number;
}

export interface RtpSessionOptions {
  /** Local address to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** A fixed port; 0 or absent picks a free one (unless portRange is given). */
  port?: number;
  /** Ports to try (even ones, as RTP convention wants), for firewalls that open a known range. */
  portRange?: { min: number; max: number };
  /** The most packets this session sends in its life; after that it sends nothing more. Default: no limit. */
  packetBudget?: number;
  ssrc?: number;
  /** Where the call's signalling came from: only RTP from this address may fix the peer (rtp-latch.ts). */
  signallingAddress?: string;
  /** Borrow a port bound in advance (rtp-port-pool.ts) instead of binding one; wins over port and portRange. */
  ports?: RtpPortSource;
}

/** What a session needs of its UDP socket: a dgram Socket, or a port borrowed from the pod's pool. */
export interface RtpSocket {
  send(msg: Buffer, port: number, address: string, callback?: (err: Error | null) => void): void;
  on(event: 'message', listener: (msg: Buffer, from: RemoteInfo) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  close(callback?: () => void): void;
  address(): { address: string; port: number };
  /**
   * The session took `remote` as its phone. A shared port (rtp-port-pool.ts) latches only then:
   * on a packet the session accepted, after SRTP authenticated it.
   */
  latched?(remote: { address: string; port: number }): void;
}

/** Ports bound in advance; borrow() gives one no other call of this process uses, or undefined when all are. */
export interface RtpPortSource {
  borrow(signallingAddress: string | undefined): RtpSocket | undefined;
}

export interface PlayResult {
  packetsSent: number;
  /** False when stop() or close() cut the audio short. */
  completed: boolean;
}

interface RtpSessionEvents {
  packet: [packet: RtpPacket, from: RemoteInfo];
  /** The first RTP packet arrived: from now on we send to where it came from. */
  latched: [remote: RtpEndpoint];
  /** The packet budget is spent: nothing more will be sent. */
  'budget-spent': [];
  error: [error: Error];
}

function bindSocket(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

async function openSocket(opts: RtpSessionOptions): Promise<RtpSocket> {
  if (opts.ports) return borrowPort(opts.ports, opts.signallingAddress);
  const type = opts.host.includes(':') ? 'udp6' : 'udp4';
  if (!opts.portRange) {
    const socket = createSocket(type);
    await bindSocket(socket, opts.host, opts.port ?? 0);
    return socket;
  }
  const { min, max } = opts.portRange;
  const first = min % 2 === 0 ? min : min + 1;
  const candidates = Math.floor((max - first) / 2) + 1;
  if (candidates < 1) throw new RangeError(`RTP port range ${min}-${max} holds no even port`);
  // Start at a random place so that concurrent calls do not all race for the same first port.
  const offset = randomInt(candidates);
  for (let i = 0; i < candidates; i++) {
    const port = first + 2 * ((offset + i) % candidates);
    const socket = createSocket(type);
    try {
      await bindSocket(socket, opts.host, port);
      return socket;
    } catch (err) {
      socket.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`no free RTP port in ${min}-${max} on ${opts.host}`);
}

function borrowPort(ports: RtpPortSource, signallingAddress: string | undefined): RtpSocket {
  const socket = ports.borrow(signallingAddress);
  if (!socket) throw new Error('no free RTP port: every port of the range serves a call');
  return socket;
}

/**
 * Reads a port range written `min-max` (e.g. the edge's HOTDESK_RTP_PORTS); the error says what
 * is wrong. The range must hold an even port, since RTP uses those.
 */
export function parsePortRange(text: string): { min: number; max: number } | string {
  const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!match) return `a port range is written min-max, e.g. 20000-20062 (got ${JSON.stringify(text)})`;
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min < 1 || max > 65535) return `ports lie between 1 and 65535 (got ${min}-${max})`;
  if (min > max) return `the range's first port must not be greater than its last (got ${min}-${max})`;
  if (min === max && min % 2 === 1) return `the range ${min}-${max} holds no even port for RTP`;
  return { min, max };
}

/** What goes on the wire for an RTP packet and back (SRTP, srtp-transform.ts); see RtpSession.setPacketTransform. */
export interface RtpPacketTransform {
  /** The datagram to send for one RTP packet. */
  protect(rtp: Buffer): Buffer;
  /** The RTP packet inside a received datagram, or undefined to drop it (not authentic, replayed). */
  unprotect(datagram: Buffer): Buffer | undefined;
}

export class RtpSession extends EventEmitter<RtpSessionEvents> {
  readonly #socket: RtpSocket;
  readonly #signallingAddress: string | undefined;
  readonly #ssrc: number;
  readonly #packetBudget: number;
  #remote: RtpEndpoint | undefined;
  #packetsSent = 0;
  #sequenceNumber = randomInt(0x10000);
  #nextTimestamp = randomInt(0x100000000);
  /** When the last packet went out, on the monotonic clock; anchors the timestamp of the next prompt. */
  #lastSentAt: number | undefined;
  #playback: AbortController | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #transform: RtpPacketTransform | undefined;

  private constructor(socket: RtpSocket, opts: RtpSessionOptions) {
    super();
    this.#socket = socket;
    this.#signallingAddress = opts.signallingAddress;
    this.#ssrc = opts.ssrc ?? randomInt(0x100000000);
    this.#packetBudget = opts.packetBudget ?? Number.POSITIVE_INFINITY;
    socket.on('message', (datagram, from) => this.#receive(datagram, from));
    socket.on('error', (err) => this.emit('error', err));
  }

  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    return new RtpSession(await openSocket(opts), opts);
  }

  get local(): RtpEndpoint {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  /** Where we send: the source of the first RTP packet received; undefined until one arrived. */
  get remote(): RtpEndpoint | undefined {
    return this.#remote;
  }

  get ssrc(): number {
    return this.#ssrc;
  }

  get packetsSent(): number {
    return this.#packetsSent;
  }

  /** Resolves true once the peer's first RTP packet arrived, false after `timeoutMs` or on close. */
  waitForRemote(timeoutMs: number): Promise<boolean> {
    if (this.#remote) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (latched: boolean) => {
        clearTimeout(timer);
        this.off('latched', onLatched);
        resolve(latched);
      };
      const onLatched = () => done(true);
      const timer = setTimeout(() => done(this.#remote !== undefined), timeoutMs);
      this.on('latched', onLatched);
    });
  }

  /**
   * Sends G.711 audio (one byte per sample) as 160-sample packets every 20 ms; the last packet is
   * padded with `padding` (the law's silence; give it for a dynamic payload type). Calls queue behind each other. Resolves when the last packet is sent.
   */
  play(audio: Buffer, payloadType: number, padding: number = silenceByte(lawForPayloadType(payloadType))): Promise<PlayResult> {
    const next = this.#queue.then(() => this.#playNow(audio, payloadType, padding));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Cuts the current prompt short (barge-in); queued prompts still play. */
  stop(): void {
    this.#playback?.abort();
  }

  /** Sends one packet now, on the session's timeline; for telephone events and tests. Nothing before the peer's first packet. */
  sendPacket(payloadType: number, payload: Buffer, opts: { marker?: boolean; timestamp?: number } = {}): void {
    if (!this.#remote || this.#closed || this.#packetsSent >= this.#packetBudget) return;
    const last = ++this.#packetsSent === this.#packetBudget;
    const packet = encodeRtpPacket({
      marker: opts.marker ?? false,
      payloadType,
      sequenceNumber: this.#sequenceNumber,
      timestamp: opts.timestamp ?? this.#nextTimestamp,
      ssrc: this.#ssrc,
      payload,
    });
    this.#sequenceNumber = (this.#sequenceNumber + 1) & 0xffff;
    this.#socket.send(this.#transform ? this.#transform.protect(packet) : packet, this.#remote.port, this.#remote.address, (err) => {
      if (err && !this.#closed) this.emit('error', err);
      // Once the last packet has left, not before: a close on this event must not drop it.
      if (last) this.emit('budget-spent');
    });
  }

  /**
   * From now on every packet sent is protected and every datagram received unprotected (SRTP). A
   * datagram it drops counts as never received: it neither latches the peer's address nor is emitted.
   */
  setPacketTransform(transform: RtpPacketTransform): void {
    this.#transform = transform;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#playback?.abort();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  async #playNow(audio: Buffer, payloadType: number, padding: number): Promise<PlayResult> {
    const packetCount = Math.ceil(audio.length / SAMPLES_PER_PACKET);
    if (this.#closed || packetCount === 0) return { packetsSent: 0, completed: !this.#closed };
    const playback = new AbortController();
    this.#playback = playback;
    this.#advanceTimestampOverSilence();
    let anchor = performance.now();
    let sent = 0;
    try {
      for (let i = 0; i < packetCount; i++) {
        let due = anchor + i * PACKET_INTERVAL_MS;
        const lateBy = performance.now() - due;
        // After a long stall (GC, a busy event loop) restart the schedule from now rather than
        // bursting every missed packet at once; the timestamps still advance by exactly 160.
        if (lateBy > MAX_CATCH_UP_MS) {
          anchor += lateBy;
          due += lateBy;
        }
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal: playback.signal });
        if (playback.signal.aborted || this.#closed) break;
        let payload = audio.subarray(i * SAMPLES_PER_PACKET, (i + 1) * SAMPLES_PER_PACKET);
        if (payload.length < SAMPLES_PER_PACKET) payload = Buffer.concat([payload, Buffer.alloc(SAMPLES_PER_PACKET - payload.length, padding)]);
        // The marker starts a talkspurt (RFC 3551 section 4.1): receivers may resync their jitter
        // buffer. Before the peer's first packet the prompt still takes its time, unheard.
        if (this.#remote) {
          this.sendPacket(payloadType, payload, { marker: sent === 0 });
          sent++;
        }
        this.#nextTimestamp = (this.#nextTimestamp + SAMPLES_PER_PACKET) >>> 0;
        this.#lastSentAt = performance.now();
      }
    } catch (err) {
      if (!playback.signal.aborted) throw err;
    } finally {
      if (this.#playback === playback) this.#playback = undefined;
    }
    return { packetsSent: sent, completed: !playback.signal.aborted && !this.#closed };
  }

  /** RTP timestamps follow the sampling clock (RFC 3550 section 5.1), also across silent gaps. */
  #advanceTimestampOverSilence(): void {
    if (this.#lastSentAt === undefined) return;
    const silentPackets = Math.floor((performance.now() - this.#lastSentAt) / PACKET_INTERVAL_MS) - 1;
    if (silentPackets > 0) this.#nextTimestamp = (this.#nextTimestamp + silentPackets * SAMPLES_PER_PACKET) >>> 0;
  }

  #receive(received: Buffer, from: RemoteInfo): void {
    const datagram = this.#transform ? this.#transform.unprotect(received) : received;
    if (datagram === undefined) return;
    const decoded = decodeRtpPacket(datagram);
    if (!decoded.ok) return;
    // Latched once for the life of the call: a later packet from elsewhere does not redirect us.
    const verdict = latchVerdict({ ...(this.#signallingAddress !== undefined ? { signallingAddress: this.#signallingAddress } : {}), ...(this.#remote ? { latched: this.#remote } : {}) }, from);
    if (verdict === 'reject') return;
    if (verdict === 'latch') {
      this.#remote = { address: from.address, port: from.port };
      this.#socket.latched?.(this.#remote);
      this.emit('latched', this.#remote);
    }
    this.emit('packet', decoded.packet, from);
  }
}
