/** Per-source token bucket and TCP stream framing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, resolveLimits, SourceRateLimiter } from '../../src/sip/limits.ts';
import { messageTooLargeAnswer, overloadAnswer } from '../../src/sip/limits-answers.ts';
import { ConnectionLimiter } from '../../src/sip/limits-connections.ts';
import { messageBytes, TransactionBudget } from '../../src/sip/limits-transactions.ts';
import { getHeader, type SipRequest } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { StreamFramer } from '../../src/sip/stream-framer.ts';

describe('SourceRateLimiter', () => {
  it('allows a burst, then refills at the configured rate, per source', () => {
    const limiter = new SourceRateLimiter(10, 3);
    const at0 = [1, 2, 3, 4].map(() => limiter.allow('10.0.0.1', 0));
    assert.deepEqual(at0, [true, true, true, false]);
    assert.equal(limiter.allow('10.0.0.2', 0), true, 'other sources have their own bucket');
    assert.equal(limiter.allow('10.0.0.1', 50), false, 'half a token after 50 ms at 10/s');
    assert.equal(limiter.allow('10.0.0.1', 100), true, 'one token after 100 ms');
    assert.equal(limiter.allow('10.0.0.1', 100), false);
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.allow('10.0.0.1', 10_000)), [true, true, true, false], 'refill caps at the burst');
  });
  it('keeps its table bounded under many sources', () => {
    const limiter = new SourceRateLimiter(1, 1, 100);
    for (let i = 0; i < 1000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, i);
    assert.ok(limiter.trackedSources <= 100);
  });
  it('rejects nonsense settings and has the documented defaults', () => {
    assert.throws(() => new SourceRateLimiter(0, 1), RangeError);
    assert.deepEqual(resolveLimits({ maxHeaders: 10 }), { ...DEFAULT_LIMITS, maxHeaders: 10 });
    assert.equal(DEFAULT_LIMITS.maxMessageBytes, 16 * 1024, 'four times the largest REGISTER or INVITE a desk phone sends');
    assert.deepEqual(DEFAULT_LIMITS.rateLimit, { messagesPerSecond: 200, burst: 400 });
  });
});

const msg = (body: string): string => `MESSAGE sip:x@y SIP/2.0\r\nl: ${Buffer.byteLength(body)}\r\nCall-ID: c\r\n\r\n${body}`;

describe('StreamFramer', () => {
  it('frames several messages in one chunk', () => {
    const framer = new StreamFramer(65536);
    const events = framer.push(Buffer.from(msg('one') + msg('two-two')));
    assert.deepEqual(events.map((e) => (e.kind === 'message' ? e.data.toString() : e.kind)), [msg('one'), msg('two-two')]);
  });
  it('waits for partial reads, byte by byte', () => {
    const framer = new StreamFramer(65536);
    const wire = Buffer.from(msg('hello world'));
    const out: string[] = [];
    for (let i = 0; i < wire.length; i++) {
      for (const e of framer.push(wire.subarray(i, i + 1))) if (e.kind === 'message') out.push(e.data.toString());
      if (i < wire.length - 1) assert.equal(out.length, 0);
    }
    assert.deepEqual(out, [wire.toString()]);
  });
  it('reports keep-alives between messages', () => {
    const framer = new StreamFramer(65536);
    const kinds = framer.push(Buffer.from(`\r\n\r\n${msg('a')}`)).map((e) => e.kind);
    assert.deepEqual(kinds, ['keepalive', 'message']);
  });
  it('fails the stream on an oversized head or body and then stays silent', () => {
    const framer = new StreamFramer(1024);
    const head = 'INVITE sip:x SIP/2.0\r\nl: 5000\r\n\r\n';
    assert.deepEqual(framer.push(Buffer.from(head)), [{ kind: 'error', problem: 'message too large', head: Buffer.from(head) }], 'the complete head comes along, to answer 513');
    assert.deepEqual(framer.push(Buffer.from(msg('a'))), []);
    const headless = new StreamFramer(1024);
    assert.equal(headless.push(Buffer.alloc(2000, 0x41))[0]?.kind, 'error');
  });
});

describe('StreamFramer pending bytes', () => {
  it('counts a begun message until it completes, and nothing between messages', () => {
    const framer = new StreamFramer(65536);
    const wire = Buffer.from(msg('abc'));
    framer.push(wire.subarray(0, 10));
    assert.equal(framer.pendingBytes, 10);
    framer.push(Buffer.concat([wire.subarray(10), Buffer.from('\r\n\r\n')]));
    assert.equal(framer.pendingBytes, 0, 'a keep-alive after a message is not a message begun');
  });
});

describe('ConnectionLimiter', () => {
  it('caps connections per source and in total, and frees a slot on close', () => {
    const limiter = new ConnectionLimiter(3, 2);
    assert.deepEqual(['a', 'a', 'a', 'b', 'c'].map((s) => limiter.admit(s)), [undefined, undefined, 'per_source', undefined, 'total']);
    assert.equal(limiter.total, 3);
    limiter.release('a');
    assert.equal(limiter.admit('c'), undefined, 'a closed connection frees its slot');
    assert.equal(limiter.admit('a'), 'total');
    limiter.release('nobody');
    assert.equal(limiter.total, 3, 'releasing a source never admitted changes nothing');
    assert.throws(() => new ConnectionLimiter(0, 1), RangeError);
  });
});

const OPTIONS = (body = '') => Buffer.from(['OPTIONS sip:x@y SIP/2.0', 'Via: SIP/2.0/TCP 10.0.0.9:5060;branch=z9hG4bK1;rport', 'From: <sip:a@b>;tag=1', 'To: <sip:x@y>', 'Call-ID: c1', 'CSeq: 1 OPTIONS', `Content-Length: ${body.length}`, '', body].join('\r\n'));
const parsedRequest = (buf: Buffer): SipRequest => {
  const r = parseMessage(buf, { framing: 'datagram', limits: { maxMessageBytes: 1_000_000, maxHeaders: 128 } });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message as SipRequest;
};

describe('TransactionBudget', () => {
  it('admits until the count or the bytes would be exceeded, and refunds what ends', () => {
    const budget = new TransactionBudget(2, 1000);
    assert.ok(budget.admits(600));
    budget.charge(600);
    assert.ok(!budget.admits(401), 'bytes');
    assert.ok(budget.admits(400));
    budget.charge(400);
    assert.ok(!budget.admits(0), 'count');
    budget.refund(600);
    assert.deepEqual([budget.transactions, budget.bytes], [1, 400]);
    assert.ok(budget.admits(600));
  });
  it('keeps each source to its share, while sources not named (trusted, our own) count only in the total', () => {
    const budget = new TransactionBudget(100, 1000, 400);
    budget.charge(300, '10.0.0.1');
    assert.equal(budget.admits(200, '10.0.0.1'), false, 'over the share');
    assert.equal(budget.admits(200, '10.0.0.2'), true, 'another source has its own share');
    assert.equal(budget.admits(600), true, 'a trusted source, only the total');
    budget.charge(600);
    assert.equal(budget.admits(200), false, 'the total still binds');
    budget.refund(300, '10.0.0.1');
    assert.equal(budget.admits(100, '10.0.0.1'), true);
  });
  it('measures a message by its text and body', () => {
    const small = messageBytes(parsedRequest(OPTIONS()));
    const large = messageBytes(parsedRequest(OPTIONS('x'.repeat(60_000))));
    assert.ok(small > 150 && small < 400, String(small));
    assert.equal(large - small, 60_000 + '60000'.length - '0'.length, 'the body, and the longer Content-Length');
  });
});

describe('limit answers', () => {
  it('513 for a too-large stream request whose head is complete, addressed back to its source', () => {
    const head = Buffer.from('INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.9:5060;branch=z9hG4bK7;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c9\r\nCSeq: 4 INVITE\r\nContent-Length: 900000\r\n\r\n');
    const answer = messageTooLargeAnswer(head, { transport: 'tcp', address: '192.0.2.1', port: 40000 }, 128, 'tt');
    assert.equal(answer?.status, 513);
    assert.equal(answer?.reason, 'Message Too Large');
    assert.match(getHeader(answer!, 'via') ?? '', /rport=40000;received=192\.0\.2\.1|received=192\.0\.2\.1.*rport=40000/);
    assert.equal(getHeader(answer!, 'call-id'), 'c9');
    assert.match(getHeader(answer!, 'to') ?? '', /;tag=tt$/);
    const cases: Array<[string, string]> = [
      ['a response', 'SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 900000\r\n\r\n'],
      ['an ACK', 'ACK sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 ACK\r\nContent-Length: 900000\r\n\r\n'],
      ['no Via', 'INVITE sip:x@y SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 900000\r\n\r\n'],
      ['garbage', '\x00\x01garbage\r\n\r\n'],
    ];
    for (const [name, text] of cases) assert.equal(messageTooLargeAnswer(Buffer.from(text, 'latin1'), { transport: 'tcp', address: '192.0.2.1', port: 1 }, 128, 't'), undefined, name);
  });
  it('503 with Retry-After when the transaction budget is spent', () => {
    const answer = overloadAnswer(parsedRequest(OPTIONS()), 5, 'tt');
    assert.equal(answer.status, 503);
    assert.equal(getHeader(answer, 'retry-after'), '5');
  });
});
