/**
 * SIP message parser (RFC 3261 §7, with the leniencies of RFC 4475): request and status lines,
 * case-insensitive and compact header names, folded lines, multi-value header splitting and
 * Content-Length handling. Never throws: malformed input yields a SipParseError value.
 */
import { MULTI_VALUE_HEADERS, normalizeHeaderName } from './header-names.ts';
import { DEFAULT_LIMITS, type SipLimits } from './limits.ts';
import { SIP_VERSION, getHeader, parseCSeq, type SipHeader, type SipMessage } from './message.ts';
import { splitOutsideQuotes } from './params.ts';
import { SipParseError } from './parse-error.ts';
import { parseVia } from './via.ts';

export type ParseResult = { ok: true; message: SipMessage } | { ok: false; error: SipParseError };

export interface ParseOptions {
  /**
   * `datagram` (UDP): the body is the rest of the datagram, truncated to Content-Length.
   * `stream` (TCP/TLS): the caller framed exactly one message; Content-Length must match.
   */
  framing: 'datagram' | 'stream';
  limits?: Pick<SipLimits, 'maxMessageBytes' | 'maxHeaders'>;
}

const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+)[ \t]+(\S+)[ \t]+([A-Za-z]+\/\S+)$/;
const STATUS_LINE = /^([A-Za-z]+\/\S+)[ \t]+(\d{3})(?:[ \t]+(.*))?$/;
const HEADER_NAME = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const CONTENT_LENGTH = /^\d{1,10}$/;
const REQUIRED_REQUEST_HEADERS: ReadonlyArray<[string, string]> = [
  ['via', 'Via'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
];

/** Index just past the blank line ending the head, and where that blank line starts. */
export function findHeadEnd(buf: Buffer, from = 0): { headEnd: number; bodyStart: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return undefined;
}

/** Parses the lines of a message head into start line fields and headers. */
function parseHead(head: string, maxHeaders: number): SipMessage | SipParseError {
  const lines = head.split(/\r?\n/);
  const startLine = (lines[0] ?? '').trim();
  let message: SipMessage;
  const req = REQUEST_LINE.exec(startLine);
  if (req) {
    message = { kind: 'request', method: req[1]!, uri: req[2]!, version: req[3]!.toUpperCase(), headers: [], body: Buffer.alloc(0) };
  } else {
    const res = STATUS_LINE.exec(startLine);
    if (!res) return new SipParseError('bad-start-line', 'Bad Start Line');
    message = { kind: 'response', version: res[1]!.toUpperCase(), status: Number(res[2]), reason: res[3] ?? '', headers: [], body: Buffer.alloc(0) };
  }

  // Unfold continuation lines first so every logical header is one string.
  const logical: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && logical.length > 0) {
      logical[logical.length - 1] = `${logical[logical.length - 1]!.trimEnd()} ${line.trim()}`;
    } else {
      logical.push(line);
    }
  }

  const headers: SipHeader[] = [];
  for (const line of logical) {
    const colon = line.indexOf(':');
    const rawName = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(rawName)) {
      return new SipParseError('bad-header-line', 'Bad Header Line', { ...message, headers });
    }
    const name = normalizeHeaderName(rawName);
    const value = line.slice(colon + 1).trim();
    if (MULTI_VALUE_HEADERS.has(name) && value.includes(',')) {
      for (const part of splitOutsideQuotes(value, ',')) {
        const v = part.trim();
        if (v !== '') headers.push({ name, value: v });
      }
    } else {
      headers.push({ name, value });
    }
    if (headers.length > maxHeaders) return new SipParseError('too-many-headers', 'Too Many Headers', { ...message, headers });
  }
  message.headers = headers;
  return message;
}

/** Checks what every proxy and UAS relies on; a failure keeps the parsed message as `partial`. */
function validate(message: SipMessage): SipParseError | undefined {
  if (message.version !== SIP_VERSION) return new SipParseError('unsupported-version', 'Version Not Supported', message);
  if (message.kind === 'request') {
    for (const [key, shown] of REQUIRED_REQUEST_HEADERS) {
      if (getHeader(message, key) === undefined) return new SipParseError('missing-header', `Missing ${shown}`, message);
    }
  } else if (getHeader(message, 'via') === undefined || getHeader(message, 'cseq') === undefined || getHeader(message, 'call-id') === undefined) {
    return new SipParseError('missing-header', 'Missing Required Header', message);
  }
  const topVia = getHeader(message, 'via');
  if (topVia !== undefined && parseVia(topVia) === undefined) return new SipParseError('bad-header-value', 'Bad Via', message);
  const cseq = parseCSeq(getHeader(message, 'cseq'));
  if (cseq === undefined) return new SipParseError('bad-header-value', 'Bad CSeq', message);
  if (message.kind === 'request' && cseq.method !== message.method.toUpperCase()) {
    return new SipParseError('cseq-method-mismatch', 'CSeq Method Mismatch', message);
  }
  const maxForwards = getHeader(message, 'max-forwards');
  if (maxForwards !== undefined && !/^\d{1,3}$/.test(maxForwards)) return new SipParseError('bad-header-value', 'Bad Max-Forwards', message);
  return undefined;
}

/** Parses one whole SIP message (one UDP datagram, or one message framed from a stream). */
export function parseMessage(buf: Buffer, options: ParseOptions = { framing: 'datagram' }): ParseResult {
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (buf.length > limits.maxMessageBytes) return { ok: false, error: new SipParseError('message-too-large', 'Message Too Large') };

  // RFC 3261 §7.5: tolerate CRLFs before the start line.
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const bounds = findHeadEnd(buf, start);
  const headEnd = bounds?.headEnd ?? buf.length;
  const bodyStart = bounds?.bodyStart ?? buf.length;
  const parsed = parseHead(buf.toString('utf8', start, headEnd), limits.maxHeaders);
  if (parsed instanceof SipParseError) return { ok: false, error: parsed };
  const message = parsed;

  const contentLength = getHeader(message, 'content-length');
  const available = buf.length - bodyStart;
  let bodyLength = available;
  if (contentLength !== undefined) {
    if (!CONTENT_LENGTH.test(contentLength)) return { ok: false, error: new SipParseError('bad-content-length', 'Bad Content-Length', message) };
    const declared = Number(contentLength);
    if (declared > available) return { ok: false, error: new SipParseError('bad-content-length', 'Content-Length Exceeds Body', message) };
    if (options.framing === 'stream' && declared < available) {
      return { ok: false, error: new SipParseError('bad-content-length', 'Content-Length Mismatch', message) };
    }
    bodyLength = declared;
  } else if (options.framing === 'stream' && available > 0) {
    return { ok: false, error: new SipParseError('bad-content-length', 'Missing Content-Length', message) };
  }
  message.body = buf.subarray(bodyStart, bodyStart + bodyLength);

  const invalid = validate(message);
  if (invalid) return { ok: false, error: invalid };
  return { ok: true, message };
}
