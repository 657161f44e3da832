/**
 * The hook through which the SIP layer reports what it sees, so the edge can plug in
 * prom-client counters (sip_requests_total{method}, sip_responses_total{code}) without this
 * layer depending on a metrics library. Every callback is optional and must be cheap.
 */
import type { ConnectionRefusal } from './limits-connections.ts';
import type { SipParseErrorReason } from './parse-error.ts';
import type { FramingProblem } from './transport-tcp.ts';
import type { TransportProtocol } from './transport.ts';

export interface SipMetricsHook {
  /** A request arrived and parsed (retransmissions included). */
  requestReceived?(method: string): void;
  requestSent?(method: string): void;
  responseReceived?(status: number): void;
  /** A response left this process (retransmissions included). */
  responseSent?(status: number): void;
  /** Input could not be parsed (an oversized UDP datagram is `message-too-large`, dropped). */
  parseError?(reason: SipParseErrorReason): void;
  /** A TCP/TLS connection was closed because its input could not be framed. */
  framingError?(transport: TransportProtocol, problem: FramingProblem): void;
  /** A message was dropped by the per-source rate limit. */
  rateLimited?(): void;
  /** An incoming TCP/TLS connection was refused by a connection cap. */
  connectionRefused?(transport: TransportProtocol, reason: ConnectionRefusal): void;
  /** A new request was answered 503 because the transaction budget was spent. */
  overloaded?(): void;
  /** Called once by the proxy: live readings for gauges, read at scrape time. */
  observe?(readings: SipCoreReadings): void;
}

/** What the SIP core holds right now. */
export interface SipCoreReadings {
  transactions(): { server: number; client: number; bytes: number };
  /** Open TCP/TLS connections per transport (accepted and our own). */
  connections(): Partial<Record<TransportProtocol, number>>;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'REFER', 'MESSAGE', 'UPDATE', 'PRACK', 'PUBLISH',
]);

/** Bounded label value for a method read off the wire (anything unknown becomes `OTHER`). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}
