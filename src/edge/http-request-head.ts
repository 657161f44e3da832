/**
 * The head of an HTTP/1.x request (RFC 9112), parsed for a server that answers GET and HEAD only:
 * the request line and the few header fields such a server acts on. Strict on purpose: anything
 * a lenient parser would have to guess at (whitespace before a colon, folded lines, a bare LF,
 * conflicting lengths) is refused, so no request can mean one thing here and another to a proxy
 * in front.
 */

/** Node's default limit for a request head. */
export const MAX_HEAD_BYTES = 16 * 1024;
export const MAX_HEADER_FIELDS = 100;

export interface ParsedRequestHead {
  kind: 'request';
  /** Characters the head took, its closing empty line included. */
  length: number;
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  host: string | undefined;
  authorization: string | undefined;
  /** Whether the client lets the connection stay open after the answer. */
  keepAlive: boolean;
  /** Content-Length above zero or a Transfer-Encoding: a body follows the head. */
  hasBody: boolean;
}

export interface InvalidRequestHead {
  kind: 'invalid';
  status: 400 | 431 | 505;
  reason: string;
}

export type RequestHead = ParsedRequestHead | InvalidRequestHead | { kind: 'incomplete' };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VERSION = /^HTTP\/[0-9]\.[0-9]$/;
const TARGET = /^[\x21-\x7e]+$/;
/** Control characters other than horizontal tab: never in a field value. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^[0-9]+$/;

/** A token: a method or a header field name. */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * The text between `from` and `to` without the spaces and tabs around it (RFC 9110 OWS); not
 * String.trim, which would also strip control characters and make them pass unseen.
 */
function withoutOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 0x20 || text.charCodeAt(from) === 0x09)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 0x20 || text.charCodeAt(to - 1) === 0x09)) to--;
  return text.slice(from, to);
}

const invalid = (status: InvalidRequestHead['status'], reason: string): InvalidRequestHead => ({ kind: 'invalid', status, reason });

/**
 * Parses the request head at the start of `text`, the connection's unread bytes decoded as
 * latin1 (one character per byte, so lengths are byte counts).
 */
export function parseRequestHead(text: string): RequestHead {
  // A client may send empty lines before a request (RFC 9112 §2.2).
  let start = 0;
  while (text.startsWith('\r\n', start)) start += 2;
  const end = text.indexOf('\r\n\r\n', start);
  if (end < 0) {
    if (text.length > MAX_HEAD_BYTES) return invalid(431, 'request head too large');
    return { kind: 'incomplete' };
  }
  if (end + 4 > MAX_HEAD_BYTES) return invalid(431, 'request head too large');

  const lineEnd = text.indexOf('\r\n', start);
  const line = text.slice(start, lineEnd);
  const firstSpace = line.indexOf(' ');
  const secondSpace = line.indexOf(' ', firstSpace + 1);
  if (firstSpace <= 0 || secondSpace < 0 || line.indexOf(' ', secondSpace + 1) >= 0) return invalid(400, 'malformed request line');
  const method = line.slice(0, firstSpace);
  const target = line.slice(firstSpace + 1, secondSpace);
  const version = line.slice(secondSpace + 1);
  if (!TOKEN.test(method) || !TARGET.test(target)) return invalid(400, 'malformed request line');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
    return VERSION.test(version) ? invalid(505, 'HTTP version not supported') : invalid(400, 'malformed request line');
  }
  const minorVersion = version === 'HTTP/1.1' ? 1 : 0;

  let host: string | undefined;
  let hosts = 0;
  let authorization: string | undefined;
  let connection = '';
  let contentLength: string | undefined;
  let transferEncoding = false;
  let fields = 0;
  let at = lineEnd + 2;
  while (at < end + 2) {
    const next = text.indexOf('\r\n', at);
    if (++fields > MAX_HEADER_FIELDS) return invalid(431, 'too many header fields');
    const first = text.charCodeAt(at);
    if (first === 0x20 || first === 0x09) return invalid(400, 'folded header line');
    const colon = text.indexOf(':', at);
    if (colon < 0 || colon > next) return invalid(400, 'header line without a colon');
    const name = text.slice(at, colon);
    if (!TOKEN.test(name)) return invalid(400, 'malformed header name');
    const value = withoutOws(text, colon + 1, next);
    if (CONTROL.test(value)) return invalid(400, 'control character in a header value');
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          host = value;
          hosts++;
        }
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connection += `,${value.toLowerCase()}`;
        break;
      case 13:
        if (authorization === undefined && name.toLowerCase() === 'authorization') authorization = value;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (!DIGITS.test(value) || (contentLength !== undefined && contentLength !== value)) return invalid(400, 'invalid Content-Length');
          contentLength = value;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') transferEncoding = true;
        break;
    }
    at = next + 2;
  }
  // A server must refuse an HTTP/1.1 request without exactly one Host (RFC 9112 §3.2).
  if (minorVersion === 1 ? hosts !== 1 : hosts > 1) return invalid(400, 'missing or repeated Host');

  const options = connection ? connection.split(',').map((o) => o.trim()) : [];
  const keepAlive = minorVersion === 1 ? !options.includes('close') : options.includes('keep-alive');
  return {
    kind: 'request',
    length: end + 4,
    method,
    target,
    minorVersion,
    host,
    authorization,
    keepAlive,
    hasBody: transferEncoding || (contentLength !== undefined && !/^0+$/.test(contentLength)),
  };
}
