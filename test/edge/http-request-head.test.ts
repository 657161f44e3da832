import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, MAX_HEAD_BYTES, MAX_HEADER_FIELDS, type RequestHead } from '../../src/edge/http-request-head.ts';

/** A request head from its lines: CRLF after each line, then the empty line that closes it. */
const head = (...lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

/** A header line padded so that the whole head built around it takes exactly `total` bytes. */
function headOfLength(total: number): string {
  const bare = head('GET / HTTP/1.1', 'Host: h', 'X-Pad: ');
  return head('GET / HTTP/1.1', 'Host: h', `X-Pad: ${'a'.repeat(total - bare.length)}`);
}

function request(text: string) {
  const parsed = parseRequestHead(text);
  assert.equal(parsed.kind, 'request', `expected a request, got ${JSON.stringify(parsed)}`);
  return parsed as Extract<RequestHead, { kind: 'request' }>;
}

test('a plain GET is parsed into method, target, version, Host and its length', () => {
  const text = head('GET /0015651234ab.cfg?x=1 HTTP/1.1', 'Host: prov.example', 'User-Agent: Yealink');
  assert.deepEqual(parseRequestHead(text), {
    kind: 'request',
    length: text.length,
    method: 'GET',
    target: '/0015651234ab.cfg?x=1',
    minorVersion: 1,
    host: 'prov.example',
    authorization: undefined,
    keepAlive: true,
    hasBody: false,
  });
});

test('parsed requests: what each field comes out as', () => {
  type Expect = Partial<Omit<Extract<RequestHead, { kind: 'request' }>, 'kind'>>;
  const cases: Array<[name: string, text: string, expect: Expect]> = [
    ['HTTP/1.0 closes the connection by default', head('GET / HTTP/1.0'), { minorVersion: 0, keepAlive: false, host: undefined }],
    ['HTTP/1.0 with Connection: keep-alive keeps it open', head('GET / HTTP/1.0', 'Connection: keep-alive'), { minorVersion: 0, keepAlive: true }],
    ['HTTP/1.0 with Connection: Keep-Alive in any case keeps it open', head('GET / HTTP/1.0', 'connection: Keep-Alive'), { keepAlive: true }],
    ['HTTP/1.0 with one Host is fine', head('GET / HTTP/1.0', 'Host: a'), { host: 'a' }],
    ['HTTP/1.1 keeps the connection open by default', head('GET / HTTP/1.1', 'Host: a'), { minorVersion: 1, keepAlive: true }],
    ['HTTP/1.1 with Connection: close closes it', head('GET / HTTP/1.1', 'Host: a', 'Connection: close'), { keepAlive: false }],
    ['HTTP/1.1 with close inside a comma list, any case, closes it', head('GET / HTTP/1.1', 'Host: a', 'Connection: TE,  Close ,upgrade'), { keepAlive: false }],
    ['HTTP/1.1 with close in a second Connection field closes it', head('GET / HTTP/1.1', 'Host: a', 'Connection: TE', 'CONNECTION: close'), { keepAlive: false }],
    ['HTTP/1.1 with a Connection option merely containing "close" stays open', head('GET / HTTP/1.1', 'Host: a', 'Connection: closed'), { keepAlive: true }],
    ['HEAD is a method like GET', head('HEAD /x HTTP/1.1', 'Host: a'), { method: 'HEAD', target: '/x' }],
    ['an absolute-form target is kept as sent', head('GET http://a/x.cfg HTTP/1.1', 'Host: a'), { target: 'http://a/x.cfg' }],
    ['whitespace around a value is not part of it', head('GET / HTTP/1.1', 'Host: \t a.example \t'), { host: 'a.example' }],
    ['a value with an inner tab and latin1 bytes is kept', head('GET / HTTP/1.1', 'Host: a', 'Authorization: x\ty\xe9'), { authorization: 'x\ty\xe9' }],
    ['an empty Host on HTTP/1.1 counts as the one Host', head('GET / HTTP/1.1', 'Host:'), { host: '' }],
    ['leading empty lines before the request line are skipped', `\r\n\r\n${head('GET / HTTP/1.1', 'Host: a')}`, { method: 'GET', length: 4 + head('GET / HTTP/1.1', 'Host: a').length }],
    ['Content-Length: 0 means no body', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 0'), { hasBody: false }],
    ['Content-Length: 000 means no body', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 000'), { hasBody: false }],
    ['Content-Length: 5 means a body follows', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5'), { hasBody: true }],
    ['Content-Length: 10 (a zero digit, not zero) means a body follows', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 10'), { hasBody: true }],
    ['the same Content-Length twice is accepted', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'content-length: 5'), { hasBody: true }],
    ['Transfer-Encoding means a body follows', head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked'), { hasBody: true }],
    ['Transfer-Encoding in any case means a body follows', head('GET / HTTP/1.1', 'Host: a', 'TRANSFER-ENCODING: gzip, chunked'), { hasBody: true }],
    ['Authorization is found whatever the case of its name', head('GET / HTTP/1.1', 'Host: a', 'aUtHoRiZaTiOn: Digest x=1'), { authorization: 'Digest x=1' }],
    ['the first Authorization wins', head('GET / HTTP/1.1', 'Host: a', 'Authorization: first', 'authorization: second'), { authorization: 'first' }],
    ['other header fields of the same lengths are not mistaken for the known ones', head('GET / HTTP/1.1', 'Host: a', 'Hxst: b', 'Connexion: close', 'Authorizatiox: y', 'Content-Lengtx: z', 'Transfer-Encodinx: q'), { host: 'a', keepAlive: true, authorization: undefined, hasBody: false }],
  ];
  for (const [name, text, expect] of cases) {
    const parsed = parseRequestHead(text);
    assert.equal(parsed.kind, 'request', `${name}: ${JSON.stringify(parsed)}`);
    for (const [key, value] of Object.entries(expect)) {
      assert.deepEqual((parsed as unknown as Record<string, unknown>)[key], value, `${name}: ${key}`);
    }
  }
});

test('refused heads: the status each gets', () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v`);
  const cases: Array<[name: string, text: string, status: 400 | 431 | 505]> = [
    ['HTTP/1.1 without Host', head('GET / HTTP/1.1', 'Accept: */*'), 400],
    ['HTTP/1.1 with two Host fields', head('GET / HTTP/1.1', 'Host: a', 'host: b'), 400],
    ['HTTP/1.1 with the same Host twice', head('GET / HTTP/1.1', 'Host: a', 'Host: a'), 400],
    ['HTTP/1.0 with two Host fields', head('GET / HTTP/1.0', 'Host: a', 'Host: b'), 400],
    ['a request line with an extra space', head('GET  / HTTP/1.1', 'Host: a'), 400],
    ['a request line with a space inside the target', head('GET /a b HTTP/1.1', 'Host: a'), 400],
    ['a request line with a trailing space', head('GET / HTTP/1.1 ', 'Host: a'), 400],
    ['a request line with a leading space', head(' GET / HTTP/1.1', 'Host: a'), 400],
    ['a request line without a version', head('GET /', 'Host: a'), 400],
    ['a request line that is one word', head('GET', 'Host: a'), 400],
    ['a lowercase version', head('GET / http/1.1', 'Host: a'), 400],
    ['a version that is not HTTP at all', head('GET / SIP/2.0', 'Host: a'), 400],
    ['a method that is not a token', head('GE(T / HTTP/1.1', 'Host: a'), 400],
    ['a target with a control character', head('GET /\x01 HTTP/1.1', 'Host: a'), 400],
    ['a target with a latin1 byte', head('GET /\xe9 HTTP/1.1', 'Host: a'), 400],
    ['HTTP/2.0', head('GET / HTTP/2.0', 'Host: a'), 505],
    ['HTTP/1.2', head('GET / HTTP/1.2', 'Host: a'), 505],
    ['a space between a field name and its colon', head('GET / HTTP/1.1', 'Host : a'), 400],
    ['a tab between a field name and its colon', head('GET / HTTP/1.1', 'Host\t: a'), 400],
    ['a header line without a colon', head('GET / HTTP/1.1', 'Host: a', 'Nonsense'), 400],
    ['a header line with an empty name', head('GET / HTTP/1.1', 'Host: a', ': v'), 400],
    ['a folded (obs-fold) line starting with a space', head('GET / HTTP/1.1', 'Host: a', 'X-Long: one', ' two'), 400],
    ['a folded (obs-fold) line starting with a tab', head('GET / HTTP/1.1', 'Host: a', 'X-Long: one', '\ttwo'), 400],
    ['a NUL inside a value', head('GET / HTTP/1.1', 'Host: a', 'X-V: a\x00b'), 400],
    ['an escape character inside a value', head('GET / HTTP/1.1', 'Host: a', 'X-V: a\x1bb'), 400],
    ['a DEL inside a value', head('GET / HTTP/1.1', 'Host: a', 'X-V: a\x7fb'), 400],
    ['a bare CR inside a value', head('GET / HTTP/1.1', 'Host: a', 'X-V: a\rInjected: b'), 400],
    ['a bare LF between two fields', head('GET / HTTP/1.1', 'Host: a\nInjected: b'), 400],
    ['a bare LF ending the request line', head('GET / HTTP/1.1\nHost: a'), 400],
    ['two different Content-Length fields', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 6'), 400],
    ['a Content-Length list', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5, 5'), 400],
    ['a negative Content-Length', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: -1'), 400],
    ['a Content-Length with a letter', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5x'), 400],
    ['an empty Content-Length', head('GET / HTTP/1.1', 'Host: a', 'Content-Length:'), 400],
    [`exactly ${MAX_HEADER_FIELDS + 1} header fields`, head('GET / HTTP/1.1', 'Host: a', ...fields(MAX_HEADER_FIELDS)), 431],
    ['a complete head one byte over the limit', headOfLength(MAX_HEAD_BYTES + 1), 431],
    ['an incomplete head already over the limit', `GET / HTTP/1.1\r\nX-Pad: ${'a'.repeat(MAX_HEAD_BYTES)}`, 431],
    ['nothing but empty lines, over the limit', '\r\n'.repeat(MAX_HEAD_BYTES / 2 + 1), 431],
  ];
  const wrong: string[] = [];
  for (const [name, text, status] of cases) {
    const parsed = parseRequestHead(text);
    if (parsed.kind !== 'invalid' || parsed.status !== status) wrong.push(`${name}: expected ${status}, got ${JSON.stringify(parsed)}`);
    else assert.ok(parsed.reason.length > 0, `${name}: a reason is given`);
  }
  assert.deepEqual(wrong, [], 'every malformed head is refused with its status');
});

test('a control character at the edge of a value is refused, not trimmed away', () => {
  // Only SP and HTAB are optional whitespace around a value (RFC 9110 §5.6.3); a vertical tab or
  // form feed there is a control character like any other, and a proxy may read the field differently.
  const cases: Array<[name: string, text: string]> = [
    ['a vertical tab after the Host value', head('GET / HTTP/1.1', 'Host: a\x0b')],
    ['a form feed before a Content-Length value', head('GET / HTTP/1.1', 'Host: a', 'Content-Length: \x0c5')],
  ];
  const accepted = cases.filter(([, text]) => parseRequestHead(text).kind !== 'invalid').map(([name]) => name);
  assert.deepEqual(accepted, [], 'each is refused with 400');
});

test('heads not yet complete are incomplete, never a request', () => {
  const cases: Array<[name: string, text: string]> = [
    ['nothing at all', ''],
    ['only empty lines', '\r\n\r\n'],
    ['half a request line', 'GET /conf'],
    ['a request line and a field, no empty line', 'GET / HTTP/1.1\r\nHost: a\r\n'],
    ['the last CRLF cut in half', 'GET / HTTP/1.1\r\nHost: a\r\n\r'],
    ['a head of exactly the limit minus its last byte', headOfLength(MAX_HEAD_BYTES).slice(0, -1)],
  ];
  for (const [name, text] of cases) assert.deepEqual(parseRequestHead(text), { kind: 'incomplete' }, name);
});

test('a request with bare LF line endings is never parsed as a request', () => {
  const lfOnly = 'GET / HTTP/1.1\nHost: a\n\n';
  assert.notEqual(parseRequestHead(lfOnly).kind, 'request');
  // Even with a proper CRLF head after it, the LF-only text is not taken as a request of its own.
  const followed = `${lfOnly}${head('GET /second HTTP/1.1', 'Host: a')}`;
  const parsed = parseRequestHead(followed);
  assert.equal(parsed.kind, 'invalid', JSON.stringify(parsed));
  // And once it grows past the limit without a CRLF head, it is refused rather than waited for.
  assert.deepEqual(parseRequestHead(lfOnly.repeat(MAX_HEAD_BYTES)).kind, 'invalid');
});

test('limits: a head of exactly MAX_HEAD_BYTES and exactly MAX_HEADER_FIELDS fields are accepted', () => {
  const atLimit = headOfLength(MAX_HEAD_BYTES);
  assert.equal(atLimit.length, MAX_HEAD_BYTES);
  assert.equal(request(atLimit).length, MAX_HEAD_BYTES);

  const extra = Array.from({ length: MAX_HEADER_FIELDS - 1 }, (_, i) => `X-F${i}: v`);
  assert.equal(request(head('GET / HTTP/1.1', 'Host: a', ...extra)).host, 'a');
});

test('the limit counts the head only, not a pipelined request after it', () => {
  const first = head('GET /1 HTTP/1.1', 'Host: a');
  const big = headOfLength(MAX_HEAD_BYTES);
  assert.equal(request(first + big).length, first.length);
});

test('length covers the head exactly, so a pipelined second request starts right after it', () => {
  const first = head('GET /one HTTP/1.1', 'Host: a', 'Authorization: one');
  const second = head('HEAD /two HTTP/1.1', 'Host: a', 'Connection: close');
  const both = `${first}${second}GET /thr`;

  const one = request(both);
  assert.equal(one.length, first.length);
  assert.equal(one.target, '/one');
  assert.equal(one.authorization, 'one');

  const rest = both.slice(one.length);
  const two = request(rest);
  assert.equal(two.method, 'HEAD');
  assert.equal(two.target, '/two');
  assert.equal(two.keepAlive, false);
  assert.equal(two.authorization, undefined, 'fields of the first request do not leak into the second');

  assert.deepEqual(parseRequestHead(rest.slice(two.length)), { kind: 'incomplete' });
});

test('a pipelined request after leading empty lines: length includes the empty lines', () => {
  const text = `\r\n${head('GET /a HTTP/1.1', 'Host: a')}\r\n${head('GET /b HTTP/1.1', 'Host: a')}`;
  const one = request(text);
  assert.equal(text.slice(one.length).startsWith('\r\nGET /b'), true);
  assert.equal(request(text.slice(one.length)).target, '/b');
});
