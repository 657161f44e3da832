/**
 * The in-memory shape of a SIP message (RFC 3261 §7) and the small accessors everyone needs.
 *
 * Headers are kept as an ordered list of single values with lower-cased full names: compact
 * forms are expanded and comma-joined values of the multi-value headers (Via, Contact, Route,
 * Record-Route) are split into one entry each when parsing, so "the top Via" is simply the first
 * `via` entry and nothing downstream has to care how the peer wrote them.
 */

export interface SipHeader {
  /** Lower-cased full header name, e.g. `call-id`, `via`. */
  name: string;
  value: string;
}

interface SipMessageBase {
  version: string;
  headers: SipHeader[];
  body: Buffer;
}

export interface SipRequest extends SipMessageBase {
  kind: 'request';
  method: string;
  /** Request-URI as written; parse with `parseUri` from uri.ts when needed. */
  uri: string;
}

export interface SipResponse extends SipMessageBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export const SIP_VERSION = 'SIP/2.0';

/** First value of a header, or undefined. `name` is matched case-insensitively. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const key = name.toLowerCase();
  for (const h of msg.headers) if (h.name === key) return h.value;
  return undefined;
}

/** Every value of a header in order (multi-value headers are already one entry per value). */
export function getHeaders(msg: SipMessage, name: string): string[] {
  const key = name.toLowerCase();
  const out: string[] = [];
  for (const h of msg.headers) if (h.name === key) out.push(h.value);
  return out;
}

/** Replaces every occurrence of a header with one value, keeping the position of the first. */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  const key = name.toLowerCase();
  const idx = msg.headers.findIndex((h) => h.name === key);
  if (idx < 0) {
    msg.headers.push({ name: key, value });
    return;
  }
  msg.headers[idx] = { name: key, value };
  msg.headers = msg.headers.filter((h, i) => i <= idx || h.name !== key);
}

/** Replaces only the first value of a header (e.g. stamping the top Via); false when absent. */
export function replaceFirstHeader(msg: SipMessage, name: string, value: string): boolean {
  const key = name.toLowerCase();
  const idx = msg.headers.findIndex((h) => h.name === key);
  if (idx < 0) return false;
  msg.headers[idx] = { name: key, value };
  return true;
}

/** Adds a value above any existing values of the same header (Via, Record-Route). */
export function prependHeader(msg: SipMessage, name: string, value: string): void {
  const key = name.toLowerCase();
  const idx = msg.headers.findIndex((h) => h.name === key);
  msg.headers.splice(idx < 0 ? msg.headers.length : idx, 0, { name: key, value });
}

/** Adds a value below any existing values of the same header. */
export function appendHeader(msg: SipMessage, name: string, value: string): void {
  const key = name.toLowerCase();
  let last = -1;
  msg.headers.forEach((h, i) => {
    if (h.name === key) last = i;
  });
  msg.headers.splice(last < 0 ? msg.headers.length : last + 1, 0, { name: key, value });
}

export function removeHeader(msg: SipMessage, name: string): void {
  const key = name.toLowerCase();
  msg.headers = msg.headers.filter((h) => h.name !== key);
}

/** Removes and returns the first value of a header (popping the top Via or Route). */
export function shiftHeader(msg: SipMessage, name: string): string | undefined {
  const key = name.toLowerCase();
  const idx = msg.headers.findIndex((h) => h.name === key);
  if (idx < 0) return undefined;
  const [removed] = msg.headers.splice(idx, 1);
  return removed?.value;
}

export interface CSeq {
  seq: number;
  method: string;
}

const CSEQ_PATTERN = /^\s*(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)\s*$/;

/** Parses a CSeq value; undefined when malformed or out of range (RFC 3261: < 2**31). */
export function parseCSeq(value: string | undefined): CSeq | undefined {
  if (value === undefined) return undefined;
  const m = CSEQ_PATTERN.exec(value);
  if (!m) return undefined;
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) return undefined;
  return { seq, method: m[2]!.toUpperCase() };
}

export function cseqOf(msg: SipMessage): CSeq | undefined {
  return parseCSeq(getHeader(msg, 'cseq'));
}

/** Deep copy, so a forwarded request can be changed without touching the received one. */
export function cloneMessage<T extends SipMessage>(msg: T): T {
  return { ...msg, headers: msg.headers.map((h) => ({ ...h })) };
}

/** Builds a request from parts; headers given as [name, value] pairs in order. */
export function createRequest(method: string, uri: string, headers: Array<[string, string]>, body: Buffer | string = Buffer.alloc(0)): SipRequest {
  return {
    kind: 'request',
    method,
    uri,
    version: SIP_VERSION,
    headers: headers.map(([name, value]) => ({ name: name.toLowerCase(), value })),
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}
