/**
 * What a phone may not tell the PBX through the edge: who it is (the edge asserts that, when it
 * has proved it) and where the request goes next (the edge routes). Pure rewrites of a request
 * about to be forwarded, so each rule is a table row in a unit test.
 */
import { removeHeader, type SipRequest } from './message.ts';
import { serializeUri, tryParseUri } from './uri.ts';

/**
 * Identity claims a trusted proxy must not pass on from a client (RFC 3325 §5, and the older
 * Remote-Party-ID that Asterisk and FreeSWITCH still honour).
 */
export const PHONE_IDENTITY_HEADERS: readonly string[] = ['p-asserted-identity', 'p-preferred-identity', 'remote-party-id'];

export interface PhoneRequestPolicy {
  /** Headers the pool gives meaning to (its emergency location header), removed like identity claims. */
  poolHeaders: readonly string[];
  /**
   * Out of a dialog every Route left after the edge popped its own is the phone choosing the PBX's
   * next hop: dropped. Inside a dialog the route set came from Record-Route and is kept.
   */
  inDialog: boolean;
}

/**
 * Removes a phone's identity claims, the pool's own headers and (out of a dialog) foreign Routes
 * from a request the edge forwards; returns the names it removed, lower case, once each.
 */
export function stripPhoneClaims(request: SipRequest, policy: PhoneRequestPolicy): string[] {
  const names = new Set([...PHONE_IDENTITY_HEADERS, ...policy.poolHeaders.map((h) => h.toLowerCase())]);
  if (!policy.inDialog) names.add('route');
  const present = new Set(request.headers.filter((h) => names.has(h.name)).map((h) => h.name));
  for (const name of present) removeHeader(request, name);
  return [...present];
}

/**
 * The Request-URI with its host set to the pool's SIP domain (no port: the domain names the PBX's
 * users, not a socket), for PBXes that refuse requests for a foreign domain. A URI that is not
 * sip/sips (a `tel:` URI) is returned as it was.
 */
export function requestUriInDomain(uri: string, domain: string): string {
  const parsed = tryParseUri(uri);
  if (!parsed) return uri;
  const { port: _port, ...rest } = parsed;
  const params = { ...rest.params };
  // maddr would send the PBX somewhere else than the domain we just wrote.
  delete params['maddr'];
  return serializeUri({ ...rest, host: domain, params });
}

/** The P-Asserted-Identity value for an account the edge proved, in the pool's domain. */
export function assertedIdentity(user: string, domain: string, displayName?: string): string {
  const uri = serializeUri({ scheme: 'sip', user, host: domain, params: {}, headers: {} });
  const name = displayName?.replace(/["\\\r\n]/g, '').trim();
  return name ? `"${name}" <${uri}>` : `<${uri}>`;
}
