/** Torture-style table (RFC 4475-inspired) for the SIP parser, plus serializer round trips. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeader, getHeaders, type SipMessage } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { serializeMessage } from '../../src/sip/serializer.ts';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));

const BASIC_HEADERS = [
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: <sip:101@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33',
  'CSeq: 314159 INVITE',
];

function ok(input: Buffer, framing: 'datagram' | 'stream' = 'datagram'): SipMessage {
  const result = parseMessage(input, { framing });
  if (!result.ok) assert.fail(`expected a parse, got ${result.error.reason}: ${result.error.phrase}`);
  return result.message;
}

interface Accepted {
  name: string;
  input: Buffer;
  check(msg: SipMessage): void;
}

const accepted: Accepted[] = [
  {
    name: 'compact header forms expand to full names',
    input: crlf([
      'INVITE sip:101@example.com SIP/2.0',
      'v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1',
      'f: <sip:a@example.com>;tag=1',
      't: <sip:101@example.com>',
      'i: compact@pc33',
      'CSeq: 1 INVITE',
      'm: <sip:a@192.0.2.10>',
      'c: application/sdp',
      'k: replaces',
      'o: check-sync',
      'l: 4',
      '',
      'v=0\r\n',
    ]),
    check(msg) {
      assert.equal(getHeader(msg, 'call-id'), 'compact@pc33');
      assert.equal(getHeader(msg, 'contact'), '<sip:a@192.0.2.10>');
      assert.equal(getHeader(msg, 'content-type'), 'application/sdp');
      assert.equal(getHeader(msg, 'supported'), 'replaces');
      assert.equal(getHeader(msg, 'event'), 'check-sync');
      assert.equal(msg.body.toString(), 'v=0\r');
    },
  },
  {
    name: 'header names are case-insensitive and spacing around the colon is tolerated',
    input: crlf(['OPTIONS sip:x@example.com SIP/2.0', 'vIa   :SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx', 'FROM:<sip:a@b>;tag=9', 'to:    <sip:x@example.com>', 'CALL-id:   abc  ', 'cseq: 7    OPTIONS', '', '']),
    check(msg) {
      assert.equal(getHeader(msg, 'Call-ID'), 'abc');
      assert.equal(getHeader(msg, 'from'), '<sip:a@b>;tag=9');
    },
  },
  {
    name: 'folded continuation lines join into one value',
    input: crlf([
      'INVITE sip:101@example.com SIP/2.0',
      ...BASIC_HEADERS,
      'Subject: I know you are there,',
      '         pick up the phone',
      '\t and talk to me!',
      '',
      '',
    ]),
    check(msg) {
      assert.equal(getHeader(msg, 'subject'), 'I know you are there, pick up the phone and talk to me!');
    },
  },
  {
    name: 'several Vias in one header split in order; commas inside quotes and <> do not split',
    input: crlf([
      'INVITE sip:101@example.com SIP/2.0',
      'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKa, SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKb',
      'Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bKc',
      ...BASIC_HEADERS.slice(1),
      'Contact: "Doe, John" <sip:john@192.0.2.4;x=a,b>, <sip:john@192.0.2.5>',
      'Record-Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>',
      '',
      '',
    ]),
    check(msg) {
      assert.deepEqual(getHeaders(msg, 'via'), [
        'SIP/2.0/UDP p1.example.com;branch=z9hG4bKa',
        'SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKb',
        'SIP/2.0/UDP phone.example.com;branch=z9hG4bKc',
      ]);
      assert.deepEqual(getHeaders(msg, 'contact'), ['"Doe, John" <sip:john@192.0.2.4;x=a,b>', '<sip:john@192.0.2.5>']);
      assert.deepEqual(getHeaders(msg, 'record-route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    },
  },
  {
    name: 'escaped characters in the Request-URI are kept as written',
    input: crlf(['INVITE sip:%2A77%2A101%2A@example.com;user=phone SIP/2.0', ...BASIC_HEADERS, '', '']),
    check(msg) {
      assert.equal(msg.kind === 'request' && msg.uri, 'sip:%2A77%2A101%2A@example.com;user=phone');
    },
  },
  {
    name: 'unknown headers are kept verbatim',
    input: crlf(['INVITE sip:101@example.com SIP/2.0', ...BASIC_HEADERS, 'X-Weird-Header: ;;,,;;', 'NewFangledHeader:   newfangled value', '', '']),
    check(msg) {
      assert.equal(getHeader(msg, 'x-weird-header'), ';;,,;;');
      assert.equal(getHeader(msg, 'newfangledheader'), 'newfangled value');
    },
  },
  {
    name: 'UDP: Content-Length shorter than the datagram truncates the body',
    input: crlf(['MESSAGE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.slice(0, 5), 'CSeq: 1 MESSAGE', 'Content-Length: 5', '', 'helloEXTRA']),
    check(msg) {
      assert.equal(msg.body.toString(), 'hello');
    },
  },
  {
    name: 'UDP: no Content-Length means the body is the rest of the datagram',
    input: crlf(['MESSAGE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.slice(0, 5), 'CSeq: 1 MESSAGE', '', 'all of it']),
    check(msg) {
      assert.equal(msg.body.toString(), 'all of it');
    },
  },
  {
    name: 'leading CRLFs and bare-LF line endings are tolerated',
    input: Buffer.from(`\r\n\r\nOPTIONS sip:x@example.com SIP/2.0\n${BASIC_HEADERS.slice(0, 5).join('\n')}\nCSeq: 2 OPTIONS\n\n`),
    check(msg) {
      assert.equal(msg.kind, 'request');
      assert.equal(getHeader(msg, 'cseq'), '2 OPTIONS');
    },
  },
  {
    name: 'status line with a multi-word reason phrase',
    input: crlf(['SIP/2.0 487 Request Terminated', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx', 'To: <sip:x@y>;tag=a', 'From: <sip:a@b>;tag=b', 'Call-ID: c', 'CSeq: 1 INVITE', '', '']),
    check(msg) {
      assert.equal(msg.kind, 'response');
      if (msg.kind === 'response') {
        assert.equal(msg.status, 487);
        assert.equal(msg.reason, 'Request Terminated');
      }
    },
  },
];

interface Rejected {
  name: string;
  input: Buffer;
  framing?: 'datagram' | 'stream';
  reason: string;
  phrase: string;
  /** Whether enough parsed to answer with a 4xx. */
  answerable: boolean;
}

const rejected: Rejected[] = [
  { name: 'binary garbage', input: Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 7]), reason: 'bad-start-line', phrase: 'Bad Start Line', answerable: false },
  { name: 'empty datagram', input: Buffer.alloc(0), reason: 'bad-start-line', phrase: 'Bad Start Line', answerable: false },
  { name: 'missing Call-ID', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.filter((h) => !h.startsWith('Call-ID')), '', '']), reason: 'missing-header', phrase: 'Missing Call-ID', answerable: true },
  { name: 'missing Via', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.slice(1), '', '']), reason: 'missing-header', phrase: 'Missing Via', answerable: true },
  { name: 'Content-Length larger than the datagram', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, 'Content-Length: 9999', '', 'short']), reason: 'bad-content-length', phrase: 'Content-Length Exceeds Body', answerable: true },
  { name: 'negative Content-Length', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, 'Content-Length: -5', '', '']), reason: 'bad-content-length', phrase: 'Bad Content-Length', answerable: true },
  { name: 'stream: Content-Length missing with a body', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, '', 'body']), framing: 'stream', reason: 'bad-content-length', phrase: 'Missing Content-Length', answerable: true },
  { name: 'CSeq method differs from the request method', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.slice(0, 5), 'CSeq: 1 BYE', '', '']), reason: 'cseq-method-mismatch', phrase: 'CSeq Method Mismatch', answerable: true },
  { name: 'non-numeric CSeq', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.slice(0, 5), 'CSeq: abc INVITE', '', '']), reason: 'bad-header-value', phrase: 'Bad CSeq', answerable: true },
  { name: 'unparseable Via', input: crlf(['INVITE sip:x@example.com SIP/2.0', 'Via: garbage', ...BASIC_HEADERS.slice(1), '', '']), reason: 'bad-header-value', phrase: 'Bad Via', answerable: true },
  { name: 'unsupported SIP version', input: crlf(['INVITE sip:x@example.com SIP/7.0', ...BASIC_HEADERS, '', '']), reason: 'unsupported-version', phrase: 'Version Not Supported', answerable: true },
  { name: 'header line without a colon', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, 'This is not a header', '', '']), reason: 'bad-header-line', phrase: 'Bad Header Line', answerable: true },
  { name: 'huge message', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, '', 'x'.repeat(70_000)]), reason: 'message-too-large', phrase: 'Message Too Large', answerable: false },
  { name: 'too many headers', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS, ...Array.from({ length: 200 }, (_, i) => `X-H${i}: ${i}`), '', '']), reason: 'too-many-headers', phrase: 'Too Many Headers', answerable: true },
  { name: 'non-numeric Max-Forwards', input: crlf(['INVITE sip:x@example.com SIP/2.0', ...BASIC_HEADERS.filter((h) => !h.startsWith('Max')), 'Max-Forwards: lots', '', '']), reason: 'bad-header-value', phrase: 'Bad Max-Forwards', answerable: true },
];

describe('SIP parser', () => {
  for (const c of accepted) {
    it(`accepts: ${c.name}`, () => c.check(ok(c.input)));
  }
  for (const c of rejected) {
    it(`rejects: ${c.name}`, () => {
      const result = parseMessage(c.input, { framing: c.framing ?? 'datagram' });
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.reason, c.reason);
      assert.equal(result.error.phrase, c.phrase);
      assert.equal(result.error.partial !== undefined, c.answerable);
    });
  }

  it('never throws on random bytes', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = 'INVITE SIP/2.0\r\n:;,<>"@=Via To From CSeq 1 z9hG4bK\t \\%';
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 300);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const result = parseMessage(Buffer.from(text), { framing: i % 2 ? 'stream' : 'datagram' });
      assert.equal(typeof result.ok, 'boolean');
    }
  });
});

describe('SIP serializer', () => {
  const samples = [
    ...accepted.map((c) => c.input),
    crlf(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1;received=1.2.3.4;rport=5', 'To: <sip:x@y>;tag=a', 'From: <sip:a@b>;tag=b', 'Call-ID: c', 'CSeq: 1 INVITE', 'Content-Type: application/sdp', 'Content-Length: 4', '', 'v=0\n']),
  ];
  for (const [i, input] of samples.entries()) {
    it(`round-trips sample ${i} to an equal message with canonical header names`, () => {
      const first = ok(input);
      const wire = serializeMessage(first);
      const second = ok(wire, 'stream');
      assert.deepEqual(second.headers.filter((h) => h.name !== 'content-length'), first.headers.filter((h) => h.name !== 'content-length'));
      assert.deepEqual(second.body, first.body);
      assert.equal(getHeader(second, 'content-length'), String(first.body.length));
      assert.deepEqual(serializeMessage(second), wire);
    });
  }

  it('writes canonical names and a correct Content-Length', () => {
    const msg = ok(crlf(['OPTIONS sip:x@y SIP/2.0', 'v: SIP/2.0/UDP a;branch=z9hG4bK1', 'i: abc', 'f: <sip:a@b>;tag=1', 't: <sip:x@y>', 'cseq: 1 OPTIONS', 'www-authenticate: Digest realm="x"', 'l: 0', '', '']));
    msg.body = Buffer.from('hello');
    const text = serializeMessage(msg).toString();
    assert.match(text, /^OPTIONS sip:x@y SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP a;branch=z9hG4bK1\r\nCall-ID: abc\r\n/);
    assert.match(text, /\r\nCSeq: 1 OPTIONS\r\nWWW-Authenticate: Digest realm="x"\r\nContent-Length: 5\r\n\r\nhello$/);
  });
});
