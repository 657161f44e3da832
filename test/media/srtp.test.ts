import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { aesCmKeystream, deriveSessionKey, deriveSessionKeys, packetIv, SRTP_LABEL } from '../../src/media/srtp-key-derivation.ts';
import { SrtpContext, rtpHeaderLength } from '../../src/media/srtp-context.ts';
import { REPLAY_WINDOW, SrtpReceiveIndex } from '../../src/media/srtp-replay.ts';
import { SRTP_SUITES, SrtpMasterKey, type SrtpSuite } from '../../src/media/srtp-suites.ts';
import { encodeRtpPacket } from '../../src/media/rtp-packet.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SHA1_80 = SRTP_SUITES.get('AES_CM_128_HMAC_SHA1_80') as SrtpSuite;
const SHA1_32 = SRTP_SUITES.get('AES_CM_128_HMAC_SHA1_32') as SrtpSuite;
// RFC 3711 Appendix B.3 (and libsrtp's test key).
const B3_MASTER = new SrtpMasterKey(hex('E1F97A0D3E018BE0D64FA32C06DE4139'), hex('0EC675AD498AFEEBB6960B3AABE6'));

test('RFC 3711 B.2: the AES-CM keystream, start and end of the 65282-block segment', () => {
  const sessionKey = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const iv = packetIv(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
  assert.equal(iv.toString('hex').toUpperCase(), 'F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
  const keystream = aesCmKeystream(sessionKey, iv, 65282 * 16);
  const rows: Array<[number, string]> = [
    [0x0000, 'E03EAD0935C95E80E166B16DD92B4EB4'],
    [0x0001, 'D23513162B02D0F72A43A2FE4A5F97AB'],
    [0x0002, '41E95B3BB0A2E8DD477901E4FCA894C0'],
    [0xfeff, 'EC8CDF7398607CB0F2D21675EA9EA1E4'],
    [0xff00, '362B7C3C6773516318A077D7FC5073AE'],
    [0xff01, '6A2CC3787889374FBEB4C81B17BA6C44'],
  ];
  for (const [block, expected] of rows) {
    assert.equal(keystream.subarray(block * 16, block * 16 + 16).toString('hex').toUpperCase(), expected, `counter ...FCFD${block.toString(16).padStart(4, '0')}`);
  }
});

test('RFC 3711 B.3: session keys derived from the master key with key derivation rate 0', () => {
  const cases: Array<{ label: number; length: number; expected: string }> = [
    { label: SRTP_LABEL.encryption, length: 16, expected: 'C61E7A93744F39EE10734AFE3FF7A087' },
    { label: SRTP_LABEL.salt, length: 14, expected: '30CBBC08863D8C85D49DB34A9AE1' },
    {
      label: SRTP_LABEL.authentication,
      length: 94,
      expected:
        'CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2',
    },
  ];
  for (const c of cases) assert.equal(deriveSessionKey(B3_MASTER, c.label, c.length).toString('hex'), hex(c.expected).toString('hex'), `label ${c.label}`);
  const keys = deriveSessionKeys(B3_MASTER);
  assert.equal(keys.authentication.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4', 'a 160-bit authentication key');
});

// libsrtp's srtp_driver known answer (SSRC 0xcafebabe, seq 0x1234, ROC 0), under the B.3 master key.
const PLAIN = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
const PROTECTED_80 = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
const PROTECTED_32 = PROTECTED_80.subarray(0, PROTECTED_80.length - 6);

for (const { suite, wire } of [{ suite: SHA1_80, wire: PROTECTED_80 }, { suite: SHA1_32, wire: PROTECTED_32 }]) {
  test(`${suite.name}: protect gives the known SRTP packet, unprotect gives the RTP back`, () => {
    assert.equal(new SrtpContext({ suite, master: B3_MASTER }).protect(PLAIN).toString('hex'), wire.toString('hex'));
    const got = new SrtpContext({ suite, master: B3_MASTER }).unprotect(wire);
    assert.ok(got.ok, got.ok ? '' : got.reason);
    assert.equal(got.packet.toString('hex'), PLAIN.toString('hex'));
  });
}

test('unprotect refuses a packet whose tag or content was changed, or that is cut short, and counts nothing', () => {
  const cases: Array<{ name: string; wire: Buffer; reason: string }> = [
    { name: 'flipped payload bit', wire: Buffer.from(PROTECTED_80).fill(0x4f, 12, 13), reason: 'authentication' },
    { name: 'flipped tag bit', wire: (() => { const b = Buffer.from(PROTECTED_80); b[b.length - 1]! ^= 1; return b; })(), reason: 'authentication' },
    { name: 'changed sequence number', wire: (() => { const b = Buffer.from(PROTECTED_80); b[3] = 0x35; return b; })(), reason: 'authentication' },
    { name: 'tag only', wire: PROTECTED_80.subarray(28), reason: 'malformed' },
    { name: 'header shorter than 12 bytes', wire: PROTECTED_80.subarray(0, 20), reason: 'malformed' },
    { name: 'not RTP version 2', wire: Buffer.concat([Buffer.from([0x40]), PROTECTED_80.subarray(1)]), reason: 'malformed' },
    { name: 'empty', wire: Buffer.alloc(0), reason: 'malformed' },
  ];
  for (const c of cases) {
    const receiver = new SrtpContext({ suite: SHA1_80, master: B3_MASTER });
    const got = receiver.unprotect(c.wire);
    assert.deepEqual(got, { ok: false, reason: c.reason }, c.name);
    assert.equal(receiver.packets, 0, c.name);
    // The real packet still gets through afterwards: a forgery did not move the window.
    assert.ok(receiver.unprotect(PROTECTED_80).ok, c.name);
  }
});

test('a wrong key never authenticates', () => {
  const other = new SrtpMasterKey(Buffer.alloc(16, 1), Buffer.alloc(14, 2));
  assert.deepEqual(new SrtpContext({ suite: SHA1_80, master: other }).unprotect(PROTECTED_80), { ok: false, reason: 'authentication' });
});

function rtp(seq: number, ssrc = 0x11223344, payload = Buffer.alloc(160, seq & 0xff)): Buffer {
  return encodeRtpPacket({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload });
}

test('round trip across the sequence number wrap: the rollover counter goes up on both sides', () => {
  const master = new SrtpMasterKey(Buffer.alloc(16, 7), Buffer.alloc(14, 9));
  const sender = new SrtpContext({ suite: SHA1_80, master });
  const receiver = new SrtpContext({ suite: SHA1_80, master });
  const seqs = [65533, 65534, 65535, 0, 1, 2];
  const wires = seqs.map((s) => sender.protect(rtp(s)));
  // Delivered out of order around the wrap: 0 before 65535.
  for (const i of [0, 1, 3, 2, 4, 5]) {
    const got = receiver.unprotect(wires[i]!);
    assert.ok(got.ok, `seq ${seqs[i]}: ${got.ok ? '' : got.reason}`);
    assert.equal(got.packet.toString('hex'), rtp(seqs[i]!).toString('hex'));
  }
  // Seq 0 after the wrap was protected under ROC 1: its keystream differs from ROC 0's.
  const rocZero = new SrtpContext({ suite: SHA1_80, master }).protect(rtp(0));
  assert.notEqual(wires[3]!.subarray(12).toString('hex'), rocZero.subarray(12).toString('hex'));
  // A replay from before the wrap is refused.
  assert.deepEqual(receiver.unprotect(wires[1]!), { ok: false, reason: 'replay' });
});

test('replay window: a packet seen is refused, a late one within the window accepted once, one behind it refused', () => {
  const master = new SrtpMasterKey(Buffer.alloc(16, 3), Buffer.alloc(14, 4));
  const sender = new SrtpContext({ suite: SHA1_32, master });
  const receiver = new SrtpContext({ suite: SHA1_32, master });
  const wires = new Map<number, Buffer>();
  for (let seq = 1000; seq <= 1000 + REPLAY_WINDOW + 10; seq++) wires.set(seq, sender.protect(rtp(seq)));
  assert.ok(receiver.unprotect(wires.get(1000)!).ok);
  assert.deepEqual(receiver.unprotect(wires.get(1000)!), { ok: false, reason: 'replay' });
  assert.ok(receiver.unprotect(wires.get(1005)!).ok);
  assert.ok(receiver.unprotect(wires.get(1003)!).ok, 'late but inside the window');
  assert.deepEqual(receiver.unprotect(wires.get(1003)!), { ok: false, reason: 'replay' });
  assert.ok(receiver.unprotect(wires.get(1000 + REPLAY_WINDOW + 10)!).ok);
  assert.deepEqual(receiver.unprotect(wires.get(1004)!), { ok: false, reason: 'replay' }, 'behind the window');
});

test('each SSRC has its own index; a key stops after its lifetime', () => {
  const master = new SrtpMasterKey(Buffer.alloc(16, 5), Buffer.alloc(14, 6));
  const sender = new SrtpContext({ suite: SHA1_80, master });
  const receiver = new SrtpContext({ suite: SHA1_80, master, lifetime: 3 });
  assert.ok(receiver.unprotect(sender.protect(rtp(10, 1))).ok);
  assert.ok(receiver.unprotect(sender.protect(rtp(10, 2))).ok, 'same sequence number, other SSRC: not a replay');
  assert.ok(receiver.unprotect(sender.protect(rtp(11, 1))).ok);
  assert.deepEqual(receiver.unprotect(sender.protect(rtp(12, 1))), { ok: false, reason: 'key-expired' });
  const short = new SrtpContext({ suite: SHA1_80, master, lifetime: 1 });
  short.protect(rtp(1));
  assert.throws(() => short.protect(rtp(2)), /lifetime/);
});

test('header length covers CSRCs and a header extension, which stay in the clear', () => {
  const withCsrc = encodeRtpPacket({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1, csrc: [7, 8], payload: Buffer.alloc(4, 0xaa) });
  assert.equal(rtpHeaderLength(withCsrc), 20);
  const extension = Buffer.concat([Buffer.from('9000000100000001000000010000', 'hex').subarray(0, 12), Buffer.from('bede0001', 'hex'), Buffer.from('10ff0000', 'hex'), Buffer.alloc(4, 0xaa)]);
  assert.equal(rtpHeaderLength(extension), 20);
  assert.equal(rtpHeaderLength(extension.subarray(0, 18)), undefined, 'extension longer than the packet');
  const master = new SrtpMasterKey(Buffer.alloc(16, 1), Buffer.alloc(14, 1));
  const wire = new SrtpContext({ suite: SHA1_80, master }).protect(extension);
  assert.equal(wire.subarray(0, 20).toString('hex'), extension.subarray(0, 20).toString('hex'));
  assert.notEqual(wire.subarray(20, 24).toString('hex'), 'aaaaaaaa');
});

test('rollover counter estimation (RFC 3711 Appendix A)', () => {
  const cases: Array<{ roc: number; highest: number; seq: number; expected: number | undefined }> = [
    { roc: 0, highest: 100, seq: 101, expected: 0 },
    { roc: 0, highest: 100, seq: 50, expected: 0 },
    { roc: 0, highest: 100, seq: 65000, expected: undefined }, // would be ROC -1
    { roc: 3, highest: 100, seq: 65000, expected: 2 },
    { roc: 3, highest: 65500, seq: 10, expected: 4 },
    { roc: 3, highest: 65500, seq: 40000, expected: 3 },
    { roc: 3, highest: 40000, seq: 7000, expected: 4 },
    { roc: 3, highest: 40000, seq: 7233, expected: 3 },
  ];
  for (const c of cases) {
    const index = new SrtpReceiveIndex();
    index.commit(c.roc, c.highest);
    assert.equal(index.estimateRoc(c.seq), c.expected, JSON.stringify(c));
  }
  assert.equal(new SrtpReceiveIndex().estimateRoc(65535), 0, 'the first packet starts at ROC 0');
});

test('a master key never prints', () => {
  const master = new SrtpMasterKey(Buffer.alloc(16, 0x41), Buffer.alloc(14, 0x42));
  const shown = `${JSON.stringify({ master })} ${inspect({ master })}`;
  assert.doesNotMatch(shown, /41414141|QUFB|4242/);
  assert.throws(() => new SrtpMasterKey(Buffer.alloc(15), Buffer.alloc(14)), /16 bytes/);
});
