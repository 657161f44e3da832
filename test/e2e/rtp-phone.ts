/**
 * The media side of a test phone: a UDP socket declared in the phone's SDP that records the RTP
 * the edge plays, and presses keys as RFC 4733 telephone-events back to where that RTP comes from.
 */
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTelephoneEvent, eventOfDtmfKey, isDtmfKey } from '../../src/media/dtmf.ts';
import { decodeRtpPacket, encodeRtpPacket } from '../../src/media/rtp-packet.ts';

export interface ReceivedRtp {
  payloadType: number;
  payloadBytes: number;
  sequenceNumber: number;
  timestamp: number;
  /** performance.now() at arrival. */
  at: number;
}

export class RtpPhone {
  readonly received: ReceivedRtp[] = [];
  readonly #socket: Socket;
  #remote: { address: string; port: number } | undefined;
  #sequence = Math.floor(Math.random() * 1000);
  #timestamp = Math.floor(Math.random() * 100_000);
  readonly #ssrc = Math.floor(Math.random() * 0xffffffff);

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      const decoded = decodeRtpPacket(msg);
      if (!decoded.ok) return;
      this.#remote = { address: rinfo.address, port: rinfo.port };
      const p = decoded.packet;
      this.received.push({ payloadType: p.payloadType, payloadBytes: p.payload.length, sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, at: performance.now() });
    });
  }

  static async open(): Promise<RtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new RtpPhone(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  async waitForPackets(count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${this.received.length} RTP packets, expected ${count}`);
      await sleep(20);
    }
  }

  /**
   * Presses the keys one after another as RFC 4733 events (payload type `pt`): per key a start
   * packet, two updates and the end packet sent three times, 20 ms apart, all with one timestamp.
   */
  async press(keys: string, pt = 101): Promise<void> {
    const remote = this.#remote;
    if (!remote) throw new Error('no RTP received yet: do not know where the edge listens');
    for (const key of keys) {
      if (!isDtmfKey(key)) throw new Error(`not a DTMF key: ${key}`);
      const event = eventOfDtmfKey(key);
      this.#timestamp += 1600;
      const steps = [
        { duration: 160, end: false, marker: true },
        { duration: 320, end: false, marker: false },
        { duration: 480, end: false, marker: false },
        { duration: 640, end: true, marker: false },
        { duration: 640, end: true, marker: false },
        { duration: 640, end: true, marker: false },
      ];
      for (const step of steps) {
        const packet = encodeRtpPacket({
          marker: step.marker,
          payloadType: pt,
          sequenceNumber: this.#sequence++ & 0xffff,
          timestamp: this.#timestamp,
          ssrc: this.#ssrc,
          payload: encodeTelephoneEvent({ event, end: step.end, volume: 10, duration: step.duration }),
        });
        await new Promise<void>((resolve, reject) => this.#socket.send(packet, remote.port, remote.address, (err) => (err ? reject(err) : resolve())));
        await sleep(20);
      }
      await sleep(60);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
