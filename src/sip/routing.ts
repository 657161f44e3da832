/**
 * Pure routing decisions: which URIs are ours, loose-route popping (RFC 3261 §16.4), and
 * where a URI sends a request (RFC 3263 reduced to what a proxy with explicit targets needs:
 * no DNS SRV/NAPTR, the URI's host and port are used as they are).
 */
import { getHeader, shiftHeader, type SipRequest } from './message.ts';
import { tryParseNameAddr } from './name-addr.ts';
import { protocolFromToken, type SipAddress, type TransportProtocol } from './transport.ts';
import type { SipUri } from './uri.ts';
import type { Via } from './via.ts';

/** The host:port pairs under which this process is reachable, per transport. */
export interface LocalIdentity {
  hosts: ReadonlySet<string>;
  ports: ReadonlySet<number>;
}

function defaultPort(uri: SipUri): number {
  return uri.scheme === 'sips' || uri.params['transport'] === 'tls' ? 5061 : 5060;
}

export function isOwnUri(uri: SipUri, identity: LocalIdentity): boolean {
  return identity.hosts.has(uri.host) && identity.ports.has(uri.port ?? defaultPort(uri));
}

export function isOwnVia(via: Via, identity: LocalIdentity): boolean {
  return identity.hosts.has(via.host) && identity.ports.has(via.port ?? (via.transport === 'TLS' ? 5061 : 5060));
}

/** Removes every leading Route entry that points at us (two with double Record-Routing). */
export function popOwnRoutes(request: SipRequest, identity: LocalIdentity): number {
  let popped = 0;
  for (;;) {
    const top = tryParseNameAddr(getHeader(request, 'route'));
    if (top === undefined || !isOwnUri(top.uri, identity)) return popped;
    shiftHeader(request, 'route');
    popped++;
  }
}

/** User parts of the leading Route entries that point at us (a flow token we wrote into a Record-Route). */
export function ownRouteUsers(request: SipRequest, identity: LocalIdentity): string[] {
  const users: string[] = [];
  for (const value of request.headers.filter((h) => h.name === 'route').map((h) => h.value)) {
    const route = tryParseNameAddr(value);
    if (route === undefined || !isOwnUri(route.uri, identity)) break;
    if (route.uri.user) users.push(route.uri.user);
  }
  return users;
}

/** Whether the request's top Route names us (an in-dialog request we Record-Routed). */
export function topRouteIsOwn(request: SipRequest, identity: LocalIdentity): boolean {
  const top = tryParseNameAddr(getHeader(request, 'route'));
  return top !== undefined && isOwnUri(top.uri, identity);
}

/** Transport, host and port a URI designates. */
export function destinationOfUri(uri: SipUri): SipAddress {
  const transport: TransportProtocol = protocolFromToken(uri.params['transport'] ?? undefined) ?? (uri.scheme === 'sips' ? 'tls' : 'udp');
  const maddr = uri.params['maddr'];
  return { transport, address: (maddr ?? uri.host).replace(/^\[|\]$/g, ''), port: uri.port ?? defaultPort(uri) };
}

/** Next hop of a request after our own Routes were popped: the top Route, else the Request-URI. */
export function nextHop(request: SipRequest, parseRequestUri: (text: string) => SipUri | undefined): SipAddress | undefined {
  const route = tryParseNameAddr(getHeader(request, 'route'));
  if (route !== undefined) return destinationOfUri(route.uri);
  const uri = parseRequestUri(request.uri);
  return uri === undefined ? undefined : destinationOfUri(uri);
}
