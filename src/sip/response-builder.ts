/** Builds a response to a request (RFC 3261 §8.2.6): the headers a response must copy. */
import { getHeader, getHeaders, SIP_VERSION, type SipHeader, type SipRequest, type SipResponse } from './message.ts';
import { tagOf } from './name-addr.ts';

const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  603: 'Decline',
};

export function defaultReason(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? 'Progress' : status < 300 ? 'OK' : 'Error');
}

export interface ResponseOptions {
  reason?: string;
  /** To-tag to add when the request's To has none (ignored for 100). */
  toTag?: string;
  /** Extra headers, appended in order. */
  headers?: Array<[string, string]>;
  body?: Buffer | string;
}

export function buildResponse(request: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  const headers: SipHeader[] = getHeaders(request, 'via').map((value) => ({ name: 'via', value }));
  const from = getHeader(request, 'from');
  if (from !== undefined) headers.push({ name: 'from', value: from });
  let to = getHeader(request, 'to');
  if (to !== undefined) {
    if (status > 100 && options.toTag !== undefined && tagOf(to) === undefined) to = `${to};tag=${options.toTag}`;
    headers.push({ name: 'to', value: to });
  }
  for (const name of ['call-id', 'cseq']) {
    const value = getHeader(request, name);
    if (value !== undefined) headers.push({ name, value });
  }
  if (status === 100) {
    const timestamp = getHeader(request, 'timestamp');
    if (timestamp !== undefined) headers.push({ name: 'timestamp', value: timestamp });
  }
  for (const [name, value] of options.headers ?? []) headers.push({ name: name.toLowerCase(), value });
  const body = options.body === undefined ? Buffer.alloc(0) : typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  return { kind: 'response', version: SIP_VERSION, status, reason: options.reason ?? defaultReason(status), headers, body };
}
