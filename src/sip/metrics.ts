/**
 * The hook through which the SIP layer reports what it sees, so the edge can plug in
 * prom-client counters (sip_requests_total{method}, sip_responses_total{code}) without this
 * layer depending on a metrics library. Every callback is optional and must be cheap.
 */
import type { SipParseErrorReason } from './parse-error.ts';

export interface SipMetricsHook {
  /** A request arrived and parsed (retransmissions included). */
  requestReceived?(method: string): void;
  requestSent?(method: string): void;
  responseReceived?(status: number): void;
  /** A response left this process (retransmissions included). */
  responseSent?(status: number): void;
  /** Input could not be parsed; `framing` means a stream had to be closed. */
  parseError?(reason: SipParseErrorReason | 'framing'): void;
  /** A message was dropped by the per-source rate limit. */
  rateLimited?(): void;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'REFER', 'MESSAGE', 'UPDATE', 'PRACK', 'PUBLISH',
]);

/** Bounded label value for a method read off the wire (anything unknown becomes `OTHER`). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}
