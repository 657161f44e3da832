/** Header name knowledge: RFC 3261 §7.3.3 compact forms and the canonical spelling for output. */

const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  y: 'identity',
};

/** Headers whose comma-separated values are split into one entry each when parsing. */
export const MULTI_VALUE_HEADERS: ReadonlySet<string> = new Set(['via', 'contact', 'route', 'record-route']);

const SPECIAL_SPELLINGS: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rack': 'RAck',
  'rseq': 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'p-asserted-identity': 'P-Asserted-Identity',
  identity: 'Identity',
};

/** Lower-cased full name for a header name as it appeared on the wire. */
export function normalizeHeaderName(raw: string): string {
  const lower = raw.toLowerCase();
  return COMPACT_FORMS[lower] ?? lower;
}

const displayCache = new Map<string, string>();

/** The conventional capitalisation for output (`call-id` → `Call-ID`, `x-foo-bar` → `X-Foo-Bar`). */
export function displayHeaderName(name: string): string {
  let shown = displayCache.get(name);
  if (shown === undefined) {
    shown = SPECIAL_SPELLINGS[name] ?? name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-');
    if (displayCache.size < 1024) displayCache.set(name, shown);
  }
  return shown;
}
