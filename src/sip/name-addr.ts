/**
 * name-addr / addr-spec values as found in From, To, Contact, Route and Record-Route
 * (RFC 3261 §20.10): `"Display" <sip:uri;uri-param>;header-param` or `sip:uri;header-param`.
 * Without angle brackets, everything after the first `;` belongs to the header, not the URI.
 */
import { parseParams, serializeParams, type SipParams } from './params.ts';
import { parseUri, serializeUri, type SipUri } from './uri.ts';

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  params: SipParams;
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** Parses a single name-addr value; throws SipUriError/Error for malformed input. */
export function parseNameAddr(text: string): NameAddr {
  const trimmed = text.trim();
  let displayPart = '';
  let uriText: string;
  let paramText: string;
  let lt = -1;
  let inQuotes = false;
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i];
    if (inQuotes) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') inQuotes = true;
    else if (ch === '<') {
      lt = i;
      break;
    }
  }
  if (lt >= 0) {
    const gt = trimmed.indexOf('>', lt);
    if (gt < 0) throw new Error('unclosed <');
    displayPart = trimmed.slice(0, lt);
    uriText = trimmed.slice(lt + 1, gt);
    paramText = trimmed.slice(gt + 1);
  } else {
    const semi = trimmed.indexOf(';');
    uriText = semi < 0 ? trimmed : trimmed.slice(0, semi);
    paramText = semi < 0 ? '' : trimmed.slice(semi);
  }
  const result: NameAddr = { uri: parseUri(uriText), params: parseParams(paramText) };
  const display = unquote(displayPart);
  if (display !== '') result.displayName = display;
  return result;
}

export function tryParseNameAddr(text: string | undefined): NameAddr | undefined {
  if (text === undefined) return undefined;
  try {
    return parseNameAddr(text);
  } catch {
    return undefined;
  }
}

export function serializeNameAddr(value: NameAddr): string {
  const display = value.displayName === undefined ? '' : `"${value.displayName.replace(/(["\\])/g, '\\$1')}" `;
  return `${display}<${serializeUri(value.uri)}>${serializeParams(value.params)}`;
}

/** The `tag` parameter of a From/To value, read without a full parse (hot path). */
export function tagOf(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  const gt = headerValue.lastIndexOf('>');
  const params = gt >= 0 ? headerValue.slice(gt + 1) : headerValue.slice(Math.max(0, headerValue.indexOf(';')));
  const tag = parseParams(params)['tag'];
  return tag === null ? undefined : tag;
}
