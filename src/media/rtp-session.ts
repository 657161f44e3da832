/**
 * One RTP stream on a UDP socket: sends G.711 audio in 20 ms packets paced against a fixed start
 * time, and emits every RTP packet it receives. Sequence numbers and timestamps run on one timeline
 * for the life of the session, so a receiver's jitter buffer sees a single stream across prompts.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRtpPacket, encodeRtpPacket, type RtpPacket } from './rtp-packet.ts';
import { lawForPayloadType, silenceByte } from './g711.ts';

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
  remote?: RtpEndpoint;
  /**
   * Send to wherever the peer's RTP comes from once it arrives (symmetric RTP, RFC 4961), which
   * gets audio through NAT when the SDP names a private address.
   */
  symmetric?: boolean;
  ssrc?: number;
}

export interface PlayResult {
  packetsSent: number;
  /** False when stop() or close() cut the audio short. */
  completed: boolean;
}

interface RtpSessionEvents {
  packet: [packet: RtpPacket, from: RemoteInfo];
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

async function openSocket(opts: RtpSessionOptions): Promise<Socket> {
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

export class RtpSession extends EventEmitter<RtpSessionEvents> {
  readonly #socket: Socket;
  readonly #ssrc: number;
  readonly #symmetric: boolean;
  #remote: RtpEndpoint | undefined;
  #latched = false;
  #sequenceNumber = randomInt(0x10000);
  #nextTimestamp = randomInt(0x100000000);
  /** When the last packet went out, on the monotonic clock; anchors the timestamp of the next prompt. */
  #lastSentAt: number | undefined;
  #playback: AbortController | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(socket: Socket, opts: RtpSessionOptions) {
    super();
    this.#socket = socket;
    this.#ssrc = opts.ssrc ?? randomInt(0x100000000);
    this.#symmetric = opts.symmetric ?? false;
    this.#remote = opts.remote;
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

  get remote(): RtpEndpoint | undefined {
    return this.#remote;
  }

  get ssrc(): number {
    return this.#ssrc;
  }

  setRemote(remote: RtpEndpoint): void {
    this.#remote = remote;
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

  /** Sends one packet now, on the session's timeline; for telephone events and tests. */
  sendPacket(payloadType: number, payload: Buffer, opts: { marker?: boolean; timestamp?: number } = {}): void {
    if (!this.#remote || this.#closed) return;
    const packet = encodeRtpPacket({
      marker: opts.marker ?? false,
      payloadType,
      sequenceNumber: this.#sequenceNumber,
      timestamp: opts.timestamp ?? this.#nextTimestamp,
      ssrc: this.#ssrc,
      payload,
    });
    this.#sequenceNumber = (this.#sequenceNumber + 1) & 0xffff;
    this.#socket.send(packet, this.#remote.port, this.#remote.address, (err) => {
      if (err && !this.#closed) this.emit('error', err);
    });
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
    if (!this.#remote) throw new Error('RTP session has no remote address to play to');
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
        // The marker starts a talkspurt (RFC 3551 section 4.1): receivers may resync their jitter buffer.
        this.sendPacket(payloadType, payload, { marker: i === 0 });
        this.#nextTimestamp = (this.#nextTimestamp + SAMPLES_PER_PACKET) >>> 0;
        this.#lastSentAt = performance.now();
        sent++;
      }
    } catch (err) {
      if (!playback.signal.aborted) throw err;
    } finally {
      if (this.#playback === playback) this.#playback = undefined;
    }
    return { packetsSent: sent, completed: sent === packetCount };
  }

  /** RTP timestamps follow the sampling clock (RFC 3550 section 5.1), also across silent gaps. */
  #advanceTimestampOverSilence(): void {
    if (this.#lastSentAt === undefined) return;
    const silentPackets = Math.floor((performance.now() - this.#lastSentAt) / PACKET_INTERVAL_MS) - 1;
    if (silentPackets > 0) this.#nextTimestamp = (this.#nextTimestamp + silentPackets * SAMPLES_PER_PACKET) >>> 0;
  }

  #receive(datagram: Buffer, from: RemoteInfo): void {
    const decoded = decodeRtpPacket(datagram);
    if (!decoded.ok) return;
    if (this.#symmetric && !this.#latched) {
      this.#latched = true;
      this.#remote = { address: from.address, port: from.port };
    }
    this.emit('packet', decoded.packet, from);
  }
}
