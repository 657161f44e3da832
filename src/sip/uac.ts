/**
 * Requests we originate outside any dialog, e.g. the check-sync NOTIFY that makes a phone
 * fetch its configuration again. Retransmissions and timeouts come from the client transaction.
 */
import { randomBytes } from 'node:crypto';
import type { SipRequest, SipResponse } from './message.ts';
import { randomTag, type SipProxy } from './proxy.ts';
import type { ProxyTarget } from './request-context.ts';
import { destinationOfUri } from './routing.ts';
import type { SipAddress } from './transport.ts';
import { parseUri } from './uri.ts';

export { SipTimeoutError } from './proxy.ts';

export interface OutOfDialogRequest {
  method: string;
  /** Request-URI, e.g. the phone's registered Contact. */
  uri: string;
  /** To header value; default `<uri>`. */
  to?: string;
  /** From header value without tag; default `<sip:edge@our-host:port>`. */
  from?: string;
  /** Extra headers; a Contact among them replaces the default `<sip:edge@our-host:port>`. */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  contentType?: string;
  /** Where to send; default: derived from the Request-URI (host, port, transport param). */
  destination?: ProxyTarget;
}

/** Sends the request and resolves with the final response; rejects with SipTimeoutError (Timer F/B). */
export function sendRequest(proxy: SipProxy, options: OutOfDialogRequest): Promise<SipResponse> {
  const destination: SipAddress = options.destination
    ? { transport: options.destination.transport ?? 'udp', address: options.destination.host, port: options.destination.port }
    : destinationOfUri(parseUri(options.uri));
  const method = options.method.toUpperCase();
  const from = options.from ?? `<${proxy.localUri(destination.transport, 'edge', '', destination)}>`;
  const headers: Array<[string, string]> = [
    ['via', proxy.localVia(destination.transport, undefined, destination)],
    ['max-forwards', '70'],
    ['from', `${from};tag=${randomTag()}`],
    ['to', options.to ?? `<${options.uri}>`],
    ['call-id', `${randomBytes(12).toString('hex')}@${proxy.advertisedHost}`],
    ['cseq', `1 ${method}`],
    // A caller's own Contact (a REGISTER's binding) replaces ours: two would register two bindings.
    ...(options.headers?.some(([name]) => name.toLowerCase() === 'contact') ? [] : [['contact', `<${proxy.localUri(destination.transport, 'edge', '', destination)}>`] as [string, string]]),
    ...(options.headers ?? []),
  ];
  if (options.body !== undefined) headers.push(['content-type', options.contentType ?? 'application/octet-stream']);
  const request: SipRequest = {
    kind: 'request',
    method,
    uri: options.uri,
    version: 'SIP/2.0',
    headers: headers.map(([name, value]) => ({ name: name.toLowerCase(), value })),
    body: options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body),
  };
  return proxy.request(request, destination);
}

/** Unsolicited `NOTIFY Event: check-sync` telling a phone to re-read its configuration. */
export function sendCheckSync(proxy: SipProxy, contactUri: string, options: { reboot?: boolean; destination?: ProxyTarget } = {}): Promise<SipResponse> {
  const request: OutOfDialogRequest = {
    method: 'NOTIFY',
    uri: contactUri,
    headers: [
      ['event', `check-sync;reboot=${options.reboot === true ? 'true' : 'false'}`],
      ['subscription-state', 'terminated'],
    ],
  };
  if (options.destination) request.destination = options.destination;
  return sendRequest(proxy, request);
}
