/**
 * RFC 4733 telephone-event decoding: turns the packet stream a phone sends for key presses into one
 * digit per press. A press is sent as several packets sharing one RTP timestamp (start, updates with
 * growing duration, and the end packet repeated, usually three times), so the timestamp is what
 * identifies a press, not the packet or the event code. Pure.
 */

/** Event codes 0..15 are the DTMF keys in this order (RFC 4733 section 3.2). */
export const DTMF_KEYS = '0123456789*#ABCD';

export type DtmfKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

export function isDtmfKey(value: string): value is DtmfKey {
  return value.length === 1 && DTMF_KEYS.includes(value);
}

export function dtmfKeyOfEvent(event: number): DtmfKey | undefined {
  const key = DTMF_KEYS[event];
  return key !== undefined && Number.isInteger(event) ? (key as DtmfKey) : undefined;
}

export function eventOfDtmfKey(key: DtmfKey): number {
  return DTMF_KEYS.indexOf(key);
}

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  /** In RTP timestamp units (1/8000 s for telephone-event/8000). */
  duration: number;
}

export function decodeTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  const flags = payload[1] ?? 0;
  return {
    event: payload[0] ?? 0,
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    duration: ((payload[2] ?? 0) << 8) | (payload[3] ?? 0),
  };
}

export function encodeTelephoneEvent(event: TelephoneEvent): Buffer {
  const payload = Buffer.alloc(4);
  payload[0] = event.event;
  payload[1] = (event.end ? 0x80 : 0) | (event.volume & 0x3f);
  payload.writeUInt16BE(event.duration & 0xffff, 2);
  return payload;
}

/** The parts of an RTP packet the accumulator looks at. */
export interface TelephoneEventPacket {
  ssrc: number;
  timestamp: number;
  payload: Uint8Array;
}

interface EventInProgress {
  timestamp: number;
  event: number;
  duration: number;
  ended: boolean;
}

/** Late retransmissions of presses older than this many presses are no longer recognised. */
const REMEMBERED_PRESSES = 16;

export class DtmfEventAccumulator {
  #ssrc: number | undefined;
  #current: EventInProgress | undefined;
  #seenTimestamps: number[] = [];

  /** Feeds one telephone-event packet; returns the key when the packet is the first seen of a new press. */
  push(packet: TelephoneEventPacket): DtmfKey | undefined {
    const decoded = decodeTelephoneEvent(packet.payload);
    if (!decoded) return undefined;
    if (packet.ssrc !== this.#ssrc) {
      // A new source (the phone restarted its stream) numbers its timestamps afresh.
      this.#ssrc = packet.ssrc;
      this.#current = undefined;
      this.#seenTimestamps = [];
    }
    const timestamp = packet.timestamp >>> 0;
    const current = this.#current;
    if (this.#seenTimestamps.includes(timestamp)) {
      if (current && current.timestamp === timestamp) {
        current.duration = Math.max(current.duration, decoded.duration);
        current.ended ||= decoded.end;
      }
      return undefined;
    }
    this.#remember(timestamp);
    // A press longer than the 16-bit duration field continues in a new segment whose timestamp is
    // where the previous segment ended (RFC 4733 section 2.5.1.3): the same press, not a new one.
    const continuesLongPress =
      current !== undefined && !current.ended && current.event === decoded.event && ((timestamp - current.timestamp) >>> 0) <= current.duration && timestamp !== current.timestamp;
    this.#current = { timestamp, event: decoded.event, duration: decoded.duration, ended: decoded.end };
    if (continuesLongPress) return undefined;
    return dtmfKeyOfEvent(decoded.event);
  }

  #remember(timestamp: number): void {
    this.#seenTimestamps.push(timestamp);
    if (this.#seenTimestamps.length > REMEMBERED_PRESSES) this.#seenTimestamps.shift();
  }
}
