import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeRelayDatagram, encodeRelayDatagram, MAX_RELAYED_PAYLOAD, type RelayDatagram, type RelayProblem } from '../../src/edge/media-relay-datagram.ts';

const rtp = Buffer.concat([Buffer.from([0x80, 0x00, 0x00, 0x01]), Buffer.alloc(8), Buffer.alloc(160, 0xff)]);

const roundTrips: Array<{ name: string; d: RelayDatagram }> = [
  { name: 'a claim names the port and the phone address', d: { kind: 'claim', rtpPort: 20000, phone: { address: '203.0.113.7', port: 0 }, payload: Buffer.alloc(0) } },
  { name: 'a release', d: { kind: 'release', rtpPort: 20062, phone: { address: '203.0.113.7', port: 0 }, payload: Buffer.alloc(0) } },
  { name: 'a phone\'s packet to the owner', d: { kind: 'from-phone', rtpPort: 20002, phone: { address: '203.0.113.7', port: 40000 }, payload: rtp } },
  { name: 'the owner\'s packet to the phone', d: { kind: 'to-phone', rtpPort: 20002, phone: { address: '203.0.113.7', port: 40000 }, payload: rtp } },
  { name: 'an IPv6 phone', d: { kind: 'from-phone', rtpPort: 65535, phone: { address: '2001:db8:1234:5678:9abc:def0:1234:5678', port: 65535 }, payload: Buffer.from([1]) } },
  { name: 'the largest payload', d: { kind: 'to-phone', rtpPort: 1, phone: { address: '::1', port: 1 }, payload: Buffer.alloc(MAX_RELAYED_PAYLOAD, 7) } },
];

for (const c of roundTrips) {
  test(`relay datagram round trip: ${c.name}`, () => {
    const decoded = decodeRelayDatagram(encodeRelayDatagram(c.d));
    assert.equal(decoded.ok, true, JSON.stringify(decoded));
    if (decoded.ok) assert.deepEqual(decoded.datagram, c.d);
  });
}

const good = encodeRelayDatagram({ kind: 'from-phone', rtpPort: 20000, phone: { address: '10.1.2.3', port: 4000 }, payload: rtp });
const claim = encodeRelayDatagram({ kind: 'claim', rtpPort: 20000, phone: { address: '10.1.2.3', port: 0 }, payload: Buffer.alloc(0) });
const withByte = (buf: Buffer, at: number, value: number) => {
  const copy = Buffer.from(buf);
  copy[at] = value;
  return copy;
};
// Header: magic(2) version(1) kind(1) rtpPort(2) addressLength(1) address phonePort(2); '10.1.2.3' is 8 bytes.
const hostile: Array<{ name: string; buf: Buffer; problem: RelayProblem }> = [
  { name: 'empty', buf: Buffer.alloc(0), problem: 'too-short' },
  { name: 'a bare RTP packet', buf: rtp, problem: 'bad-magic' },
  { name: 'a SIP message', buf: Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), problem: 'bad-magic' },
  { name: 'another version', buf: withByte(good, 2, 2), problem: 'bad-version' },
  { name: 'kind 0', buf: withByte(good, 3, 0), problem: 'bad-kind' },
  { name: 'kind 5', buf: withByte(good, 3, 5), problem: 'bad-kind' },
  { name: 'RTP port 0', buf: Buffer.concat([good.subarray(0, 4), Buffer.from([0, 0]), good.subarray(6)]), problem: 'bad-port' },
  { name: 'address length 0', buf: withByte(good, 6, 0), problem: 'bad-address' },
  { name: 'address length past the end', buf: withByte(good.subarray(0, 12), 6, 40), problem: 'too-short' },
  { name: 'address length beyond any address', buf: withByte(good, 6, 200), problem: 'bad-address' },
  { name: 'an address that is no IP address', buf: Buffer.concat([good.subarray(0, 7), Buffer.from('10.1.2.x'), good.subarray(15)]), problem: 'bad-address' },
  { name: 'a host name for an address', buf: Buffer.concat([good.subarray(0, 7), Buffer.from('evil.com'), good.subarray(15)]), problem: 'bad-address' },
  { name: 'cut inside the phone port', buf: good.subarray(0, 16), problem: 'too-short' },
  { name: 'media without payload', buf: good.subarray(0, 17), problem: 'missing-payload' },
  { name: 'media from phone port 0', buf: Buffer.concat([good.subarray(0, 15), Buffer.from([0, 0]), good.subarray(17)]), problem: 'bad-port' },
  { name: 'a payload larger than any phone sends', buf: Buffer.concat([good.subarray(0, 17), Buffer.alloc(MAX_RELAYED_PAYLOAD + 1)]), problem: 'too-long' },
  { name: 'a claim carrying a payload', buf: Buffer.concat([claim, Buffer.from([1])]), problem: 'unexpected-payload' },
];

for (const c of hostile) {
  test(`relay datagram refused: ${c.name}`, () => {
    assert.deepEqual(decodeRelayDatagram(c.buf), { ok: false, problem: c.problem });
  });
}

test('relay datagram: random bytes, and random bytes after a valid start, never throw', () => {
  for (let i = 0; i < 5000; i++) {
    const noise = randomBytes(i % 64);
    assert.doesNotThrow(() => decodeRelayDatagram(noise));
    assert.doesNotThrow(() => decodeRelayDatagram(Buffer.concat([good.subarray(0, i % good.length), noise])));
  }
});

const refusedEncodings: Array<{ name: string; d: RelayDatagram; error: RegExp }> = [
  { name: 'a host name', d: { kind: 'claim', rtpPort: 20000, phone: { address: 'phone.example.com', port: 0 }, payload: Buffer.alloc(0) }, error: /not an IP address/ },
  { name: 'port 0', d: { kind: 'claim', rtpPort: 0, phone: { address: '10.0.0.1', port: 0 }, payload: Buffer.alloc(0) }, error: /outside 1-65535/ },
  { name: 'media to phone port 0', d: { kind: 'to-phone', rtpPort: 20000, phone: { address: '10.0.0.1', port: 0 }, payload: rtp }, error: /phone port 0/ },
  { name: 'empty media', d: { kind: 'from-phone', rtpPort: 20000, phone: { address: '10.0.0.1', port: 9 }, payload: Buffer.alloc(0) }, error: /carries 1-/ },
  { name: 'a claim with a payload', d: { kind: 'claim', rtpPort: 20000, phone: { address: '10.0.0.1', port: 0 }, payload: rtp }, error: /carries no payload/ },
];

for (const c of refusedEncodings) {
  test(`relay datagram not encoded: ${c.name}`, () => {
    assert.throws(() => encodeRelayDatagram(c.d), c.error);
  });
}
