/**
 * The media side of a test phone: a UDP socket declared in the phone's SDP. Once the phone's SIP
 * side (SIPp) hands it the answer ("answer <host> <port>", see scenarios/feature-call.xml) it
 * talks, as a phone does: µ-law silence every 20 ms to the answer's address, which is what the
 * edge latches on. It records the RTP the edge plays and presses keys as RFC 4733 events.
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
  /** Where it came from, `address:port`: the address and port the phone sent to, for symmetric RTP through NAT and kube-proxy. */
  from: string;
}

const ANSWER = /^answer (\S+) (\d+)\s*$/;
const SILENCE = Buffer.alloc(160, 0xff);

export class RtpPhone {
  readonly received: ReceivedRtp[] = [];
  readonly #socket: Socket;
  #remote: { address: string; port: number } | undefined;
  #answered: () => void = () => undefined;
  readonly #answer = new Promise<void>((resolve) => (this.#answered = resolve));
  #talking: NodeJS.Timeout | undefined;
  #pressing = false;
  #sequence = Math.floor(Math.random() * 1000);
  #timestamp = Math.floor(Math.random() * 100_000);
  readonly #ssrc = Math.floor(Math.random() * 0xffffffff);
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      const answer = ANSWER.exec(msg.toString('latin1'));
      if (answer) {
        this.#startTalking({ address: answer[1]!, port: Number(answer[2]) });
        return;
      }
      const decoded = decodeRtpPacket(msg);
      if (!decoded.ok) return;
      const p = decoded.packet;
      this.received.push({ payloadType: p.payloadType, payloadBytes: p.payload.length, sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, at: performance.now(), from: `${rinfo.address}:${rinfo.port}` });
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

  /** Where the answer told it to send; undefined until the call was answered. */
  get remote(): { address: string; port: number } | undefined {
    return this.#remote;
  }

  /** Resolves once the call is answered (the SIP side handed over the answer's media address). */
  answered(timeoutMs = 15_000): Promise<boolean> {
    return Promise.race([this.#answer.then(() => true), sleep(timeoutMs, false)]);
  }

  async waitForPackets(count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${this.received.length} RTP packets, expected ${count}`);
      await sleep(20);
    }
  }

  /** Waits until the edge has been silent for `quietMs` (a prompt is over), at most `timeoutMs`. */
  async waitForQuiet(quietMs = 300, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = this.received.at(-1)?.at;
      if (last !== undefined && performance.now() - last >= quietMs) return;
      await sleep(20);
    }
    throw new Error(`the edge did not fall silent for ${quietMs} ms within ${timeoutMs} ms`);
  }

  /**
   * Presses the keys one after another as RFC 4733 events (payload type `pt`): per key a start
   * packet, two updates and the end packet sent three times, 20 ms apart, all with one timestamp.
   */
  async press(keys: string, pt = 101): Promise<void> {
    const remote = this.#remote;
    if (!remote) throw new Error('the call was not answered: do not know where the edge listens');
    this.#pressing = true;
    try {
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
          await this.#send(pt, encodeTelephoneEvent({ event, end: step.end, volume: 10, duration: step.duration }), step.marker, this.#timestamp);
          await sleep(20);
        }
        await sleep(60);
      }
    } finally {
      this.#pressing = false;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#talking);
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #startTalking(remote: { address: string; port: number }): void {
    if (this.#remote || this.#closed) return;
    this.#remote = remote;
    this.#answered();
    // A phone stops its voice packets while it sends a key's events.
    const talk = () => {
      if (this.#pressing || this.#closed) return;
      this.#timestamp += 160;
      void this.#send(0, SILENCE, false, this.#timestamp).catch(() => undefined);
    };
    talk();
    this.#talking = setInterval(talk, 20);
  }

  #send(pt: number, payload: Buffer, marker: boolean, timestamp: number): Promise<void> {
    const remote = this.#remote!;
    const packet = encodeRtpPacket({ marker, payloadType: pt, sequenceNumber: this.#sequence++ & 0xffff, timestamp, ssrc: this.#ssrc, payload });
    return new Promise<void>((resolve, reject) => this.#socket.send(packet, remote.port, remote.address, (err) => (err ? reject(err) : resolve())));
  }
}
