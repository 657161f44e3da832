/** Per-source token bucket and TCP stream framing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLimits, SourceRateLimiter } from '../../src/sip/limits.ts';
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
    assert.deepEqual(resolveLimits({ maxHeaders: 10 }), { maxMessageBytes: 65536, maxHeaders: 10, rateLimit: { messagesPerSecond: 200, burst: 400 } });
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
    assert.deepEqual(framer.push(Buffer.from('INVITE sip:x SIP/2.0\r\nl: 5000\r\n\r\n')), [{ kind: 'error', problem: 'message too large' }]);
    assert.deepEqual(framer.push(Buffer.from(msg('a'))), []);
    const headless = new StreamFramer(1024);
    assert.equal(headless.push(Buffer.alloc(2000, 0x41))[0]?.kind, 'error');
  });
});
