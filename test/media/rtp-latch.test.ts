import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latchVerdict, type LatchState, type LatchVerdict } from '../../src/media/rtp-latch.ts';

const phone = { address: '203.0.113.7', port: 40000 };

const cases: Array<{ name: string; state: LatchState; from: { address: string; port: number }; want: LatchVerdict }> = [
  { name: 'first packet from the signalling address latches', state: { signallingAddress: '203.0.113.7' }, from: phone, want: 'latch' },
  { name: 'first packet from any port of the signalling address latches (NAT picks the RTP port)', state: { signallingAddress: '203.0.113.7' }, from: { address: '203.0.113.7', port: 1 }, want: 'latch' },
  { name: 'first packet from another address is not the call\'s', state: { signallingAddress: '203.0.113.7' }, from: { address: '198.51.100.9', port: 40000 }, want: 'reject' },
  { name: 'no signalling address known: any first source latches', state: {}, from: { address: '198.51.100.9', port: 40000 }, want: 'latch' },
  { name: 'the latched source is accepted', state: { signallingAddress: '203.0.113.7', latched: phone }, from: phone, want: 'accept' },
  { name: 'another port of the same address after latching is refused', state: { signallingAddress: '203.0.113.7', latched: phone }, from: { address: '203.0.113.7', port: 40002 }, want: 'reject' },
  { name: 'another address after latching is refused', state: { latched: phone }, from: { address: '198.51.100.9', port: 40000 }, want: 'reject' },
  { name: 'an IPv4 address seen on a dual-stack socket is the same address', state: { signallingAddress: '::ffff:203.0.113.7' }, from: phone, want: 'latch' },
  { name: 'and the other way round, once latched', state: { latched: phone }, from: { address: '::FFFF:203.0.113.7', port: 40000 }, want: 'accept' },
  { name: 'IPv6 addresses compare without regard to case', state: { signallingAddress: '2001:db8::a' }, from: { address: '2001:DB8::A', port: 5 }, want: 'latch' },
];

for (const c of cases) {
  test(`RTP latching: ${c.name}`, () => {
    assert.equal(latchVerdict(c.state, c.from), c.want);
  });
}
