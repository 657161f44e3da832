/**
 * Cuts a TCP/TLS byte stream into whole SIP messages using Content-Length (RFC 3261 §18.3):
 * handles partial reads, several messages per chunk and CRLF keep-alives (RFC 5626 §3.5.1).
 * A framing error is fatal for the connection because the stream cannot be resynchronised.
 */
import { findHeadEnd } from './parser.ts';

/** An error's `head` is the complete head of a message too large to take, so it can be answered 513. */
export type FramerEvent = { kind: 'message'; data: Buffer } | { kind: 'keepalive' } | { kind: 'error'; problem: string; head?: Buffer };

const CONTENT_LENGTH_LINE = /^(?:content-length|l)[ \t]*:[ \t]*(\d{1,10})[ \t]*$/im;

export class StreamFramer {
  readonly #maxMessageBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  #failed = false;
  /** CR and LF bytes seen since the last message began: four of them make a keep-alive ping. */
  #lineBreaksBetweenMessages = 0;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes of a message begun but not yet complete (0 between messages). */
  get pendingBytes(): number {
    return this.#buffer.length;
  }

  /** Feeds a chunk; returns every event it completes (messages in order). */
  push(chunk: Buffer): FramerEvent[] {
    if (this.#failed) return [];
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const events: FramerEvent[] = [];
    for (;;) {
      let start = 0;
      while (start < this.#buffer.length && (this.#buffer[start] === 0x0d || this.#buffer[start] === 0x0a)) {
        start++;
        // Every double CRLF ping is answered with a single CRLF pong by the transport, even when
        // the ping's bytes arrive in separate reads.
        if (++this.#lineBreaksBetweenMessages % 4 === 0) events.push({ kind: 'keepalive' });
      }
      if (start > 0) this.#buffer = this.#buffer.subarray(start);
      if (this.#buffer.length === 0) return events;
      this.#lineBreaksBetweenMessages = 0;
      const bounds = findHeadEnd(this.#buffer);
      if (bounds === undefined) {
        if (this.#buffer.length > this.#maxMessageBytes) return this.#fail(events, 'message too large');
        return events;
      }
      const head = this.#buffer.toString('latin1', 0, bounds.headEnd);
      const m = CONTENT_LENGTH_LINE.exec(head);
      const bodyLength = m ? Number(m[1]) : 0;
      const total = bounds.bodyStart + bodyLength;
      if (total > this.#maxMessageBytes) return this.#fail(events, 'message too large', Buffer.from(this.#buffer.subarray(0, bounds.bodyStart)));
      if (this.#buffer.length < total) return events;
      events.push({ kind: 'message', data: Buffer.from(this.#buffer.subarray(0, total)) });
      this.#buffer = this.#buffer.subarray(total);
    }
  }

  #fail(events: FramerEvent[], problem: string, head?: Buffer): FramerEvent[] {
    this.#failed = true;
    this.#buffer = Buffer.alloc(0);
    events.push(head ? { kind: 'error', problem, head } : { kind: 'error', problem });
    return events;
  }
}
