/**
 * SIP/SIPS URIs (RFC 3261 §19.1): `sip:user:password@host:port;uri-params?headers`.
 * The user part is kept unescaped (`%2A` becomes `*`) and re-escaped on output, so feature
 * codes like `*77*101*` compare equal however the phone wrote them.
 */
import { parseParams, serializeParams, type SipParams } from './params.ts';

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** Host name or IP; IPv6 references keep their brackets (`[::1]`). */
  host: string;
  port?: number;
  params: SipParams;
  /** `?name=value&...` headers, unescaped. */
  headers: Record<string, string>;
}

export class SipUriError extends Error {
  readonly uri: string;
  constructor(uri: string, problem: string) {
    super(`bad SIP URI ${JSON.stringify(uri.slice(0, 80))}: ${problem}`);
    this.name = 'SipUriError';
    this.uri = uri;
  }
}

const HOST_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$/;
// Characters RFC 3261 allows unescaped in the user part: unreserved plus user-unreserved.
const USER_SAFE = /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/;

function unescape(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw new SipUriError(text, 'bad %-escape');
  }
}

function escapeUser(user: string): string {
  let out = '';
  for (const ch of user) {
    if (USER_SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Parses a SIP or SIPS URI; throws SipUriError (callers on the wire path catch it). */
export function parseUri(text: string): SipUri {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) throw new SipUriError(text, 'no scheme');
  const scheme = trimmed.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') throw new SipUriError(text, `unsupported scheme ${scheme}`);
  let rest = trimmed.slice(colon + 1);

  const headers: Record<string, string> = {};
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const pair of rest.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      headers[unescape(name)] = eq < 0 ? '' : unescape(pair.slice(eq + 1));
    }
    rest = rest.slice(0, q);
  }

  let user: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pw = userinfo.indexOf(':');
    user = unescape(pw < 0 ? userinfo : userinfo.slice(0, pw));
    if (pw >= 0) password = unescape(userinfo.slice(pw + 1));
  }

  const semi = rest.indexOf(';');
  const hostport = semi < 0 ? rest : rest.slice(0, semi);
  const params = semi < 0 ? {} : parseParams(rest.slice(semi));

  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new SipUriError(text, 'unclosed IPv6 reference');
    host = hostport.slice(0, close + 1);
    const after = hostport.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new SipUriError(text, 'junk after IPv6 reference');
      portText = after.slice(1);
    }
  } else {
    const pc = hostport.indexOf(':');
    host = pc < 0 ? hostport : hostport.slice(0, pc);
    if (pc >= 0) portText = hostport.slice(pc + 1);
  }
  if (!HOST_PATTERN.test(host)) throw new SipUriError(text, 'bad host');
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw new SipUriError(text, 'bad port');
    port = Number(portText);
    if (port < 1 || port > 65535) throw new SipUriError(text, 'port out of range');
  }

  const uri: SipUri = { scheme, host: host.toLowerCase(), params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

/** Non-throwing variant for the wire path. */
export function tryParseUri(text: string): SipUri | undefined {
  try {
    return parseUri(text);
  } catch {
    return undefined;
  }
}

export function serializeUri(uri: SipUri): string {
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    out += escapeUser(uri.user);
    if (uri.password !== undefined) out += `:${escapeUser(uri.password)}`;
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  out += serializeParams(uri.params);
  const headerNames = Object.keys(uri.headers);
  if (headerNames.length > 0) {
    out += `?${headerNames.map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(uri.headers[n]!)}`).join('&')}`;
  }
  return out;
}
