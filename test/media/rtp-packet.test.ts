import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRtpPacket, encodeRtpPacket } from '../../src/media/rtp-packet.ts';

test('decodes a captured RFC 2833 packet (SIPp dtmf_2833_5.pcap, first packet)', () => {
  const datagram = Buffer.from('80e51fdb0000a8c00e05384e050a0000', 'hex');
  const decoded = decodeRtpPacket(datagram);
  assert.ok(decoded.ok);
  if (!decoded.ok) return;
  assert.deepEqual(decoded.packet, {
    marker: true,
    payloadType: 101,
    sequenceNumber: 0x1fdb,
    timestamp: 43200,
    ssrc: 0x0e05384e,
    csrc: [],
    payload: Buffer.from('050a0000', 'hex'),
  });
});

test('encodes the header fields RFC 3550 defines and decodes them back', () => {
  const payload = Buffer.alloc(160, 0xff);
  const bytes = encodeRtpPacket({ marker: false, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload });
  assert.equal(bytes.length, 172);
  assert.equal(bytes.subarray(0, 12).toString('hex'), '8008ffff' + 'fffffff0' + 'deadbeef');
  const decoded = decodeRtpPacket(bytes);
  assert.ok(decoded.ok);
  if (!decoded.ok) return;
  assert.equal(decoded.packet.marker, false);
  assert.equal(decoded.packet.payloadType, 8);
  assert.equal(decoded.packet.sequenceNumber, 65535);
  assert.equal(decoded.packet.timestamp, 0xfffffff0);
  assert.equal(decoded.packet.ssrc, 0xdeadbeef);
  assert.deepEqual(decoded.packet.payload, payload);
});

test('sequence numbers and timestamps wrap instead of overflowing', () => {
  const bytes = encodeRtpPacket({ marker: true, payloadType: 0, sequenceNumber: 65536 + 5, timestamp: 2 ** 32 + 7, ssrc: 1, payload: Buffer.alloc(0) });
  const decoded = decodeRtpPacket(bytes);
  assert.ok(decoded.ok);
  if (!decoded.ok) return;
  assert.equal(decoded.packet.sequenceNumber, 5);
  assert.equal(decoded.packet.timestamp, 7);
});

test('skips CSRCs and the header extension, strips padding', () => {
  const header = Buffer.from('b100' + '0001' + '00000002' + '00000003', 'hex'); // V=2 P X CC=1
  const csrc = Buffer.from('0000abcd', 'hex');
  const extension = Buffer.from('bede0001' + '11223344', 'hex');
  const payload = Buffer.from('0102', 'hex');
  const padding = Buffer.from('000003', 'hex');
  const decoded = decodeRtpPacket(Buffer.concat([header, csrc, extension, payload, padding]));
  assert.ok(decoded.ok);
  if (!decoded.ok) return;
  assert.deepEqual(decoded.packet.csrc, [0xabcd]);
  assert.deepEqual(decoded.packet.payload, payload);
});

test('refuses what is not RTP version 2, with a reason', () => {
  for (const [hex, reason] of [
    ['8000', 'shorter than an RTP header'],
    ['400000010000000200000003', 'RTP version 1'],
    ['830000010000000200000003', 'CSRC list'],
    ['a00000010000000200000003ff', 'padding'],
  ] as const) {
    const decoded = decodeRtpPacket(Buffer.from(hex, 'hex'));
    assert.equal(decoded.ok, false, hex);
    if (!decoded.ok) assert.ok(decoded.reason.includes(reason), `${hex}: ${decoded.reason}`);
  }
});
