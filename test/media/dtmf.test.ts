import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtmfEventAccumulator, decodeTelephoneEvent, encodeTelephoneEvent, eventOfDtmfKey, type DtmfKey, type TelephoneEventPacket } from '../../src/media/dtmf.ts';

/** The packets a phone sends for one press: a start, updates every 20 ms, and the end three times. */
function press(key: DtmfKey, timestamp: number, opts: { updates?: number; ends?: number; ssrc?: number } = {}): TelephoneEventPacket[] {
  const event = eventOfDtmfKey(key);
  const ssrc = opts.ssrc ?? 0x1234;
  const packets: TelephoneEventPacket[] = [];
  const updates = opts.updates ?? 5;
  for (let i = 0; i < updates; i++) packets.push({ ssrc, timestamp, payload: encodeTelephoneEvent({ event, end: false, volume: 10, duration: i * 160 }) });
  for (let i = 0; i < (opts.ends ?? 3); i++) packets.push({ ssrc, timestamp, payload: encodeTelephoneEvent({ event, end: true, volume: 10, duration: updates * 160 }) });
  return packets;
}

function digitsOf(packets: TelephoneEventPacket[]): string {
  const accumulator = new DtmfEventAccumulator();
  return packets.map((p) => accumulator.push(p) ?? '').join('');
}

test('decodes the RFC 4733 payload fields', () => {
  assert.deepEqual(decodeTelephoneEvent(Buffer.from('058a08c0', 'hex')), { event: 5, end: true, volume: 10, duration: 2240 });
  assert.deepEqual(decodeTelephoneEvent(Buffer.from('0b0a0140', 'hex')), { event: 11, end: false, volume: 10, duration: 320 });
  assert.equal(decodeTelephoneEvent(Buffer.from('05', 'hex')), undefined);
});

const cases: { name: string; packets: () => TelephoneEventPacket[]; digits: string }[] = [
  { name: 'one press with three redundant end packets', packets: () => press('5', 8000), digits: '5' },
  { name: 'a PIN and the hash key', packets: () => [...press('1', 1000), ...press('2', 9000), ...press('3', 17000), ...press('#', 25000)], digits: '123#' },
  { name: 'the same key twice (new timestamp = new press)', packets: () => [...press('7', 1000), ...press('7', 5000), ...press('7', 9000)], digits: '777' },
  { name: 'start and updates lost, only the end packets arrive', packets: () => press('9', 4000, { updates: 0 }), digits: '9' },
  { name: 'all end packets lost', packets: () => [...press('4', 4000, { ends: 0 }), ...press('4', 8000, { ends: 0 })], digits: '44' },
  {
    name: 'a late end packet of the previous press after the next press started',
    packets: () => {
      const first = press('1', 1000);
      const second = press('2', 3000);
      return [...first.slice(0, -1), ...second.slice(0, 2), first.at(-1) as TelephoneEventPacket, ...second.slice(2)];
    },
    digits: '12',
  },
  { name: 'every key 0-9 * # A-D', packets: () => [...'0123456789*#ABCD'].flatMap((k, i) => press(k as DtmfKey, 1000 + 8000 * i)), digits: '0123456789*#ABCD' },
  {
    name: 'a press longer than the 16-bit duration continues in a new segment (RFC 4733 2.5.1.3)',
    packets: () => {
      const ssrc = 0x1234;
      const event = eventOfDtmfKey('0');
      return [
        { ssrc, timestamp: 1000, payload: encodeTelephoneEvent({ event, end: false, volume: 10, duration: 0 }) },
        { ssrc, timestamp: 1000, payload: encodeTelephoneEvent({ event, end: false, volume: 10, duration: 0xffff }) },
        { ssrc, timestamp: 1000 + 0xffff, payload: encodeTelephoneEvent({ event, end: false, volume: 10, duration: 160 }) },
        { ssrc, timestamp: 1000 + 0xffff, payload: encodeTelephoneEvent({ event, end: true, volume: 10, duration: 320 }) },
      ];
    },
    digits: '0',
  },
  { name: 'a new SSRC starts afresh even at the same timestamp', packets: () => [...press('3', 1000, { ssrc: 1 }), ...press('3', 1000, { ssrc: 2 })], digits: '33' },
  {
    name: 'non-DTMF events (flash, 16) give no key',
    packets: () => [{ ssrc: 1, timestamp: 10, payload: encodeTelephoneEvent({ event: 16, end: true, volume: 10, duration: 800 }) }, ...press('8', 2000, { ssrc: 1 })],
    digits: '8',
  },
  { name: 'timestamps wrap around 2^32', packets: () => [...press('1', 0xffffff00), ...press('2', 0x00000100)], digits: '12' },
];

for (const c of cases) {
  test(`accumulator: ${c.name}`, () => {
    assert.equal(digitsOf(c.packets()), c.digits);
  });
}
