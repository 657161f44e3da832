import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpContext } from '../../src/media/srtp-context.ts';
import { SrtpTransform } from '../../src/media/srtp-transform.ts';
import { SRTP_SUITES, SrtpMasterKey, type SrtpSuite } from '../../src/media/srtp-suites.ts';
import { encodeRtpPacket } from '../../src/media/rtp-packet.ts';
import type { NegotiatedSrtp } from '../../src/media/sdp.ts';

const suite = SRTP_SUITES.get('AES_CM_128_HMAC_SHA1_80') as SrtpSuite;
const key = (byte: number) => new SrtpMasterKey(Buffer.alloc(16, byte), Buffer.alloc(14, byte));
const rtp = (seq: number) => encodeRtpPacket({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 42, payload: Buffer.alloc(160, 0xff) });

test('each direction under its own key: ours protects, theirs unprotects; failures are counted by reason', () => {
  const negotiated: NegotiatedSrtp = { suite, tag: '1', remote: key(1), local: key(2) };
  const transform = new SrtpTransform(negotiated);
  const phoneSends = new SrtpContext({ suite, master: key(1) });
  const phoneReads = new SrtpContext({ suite, master: key(2) });
  assert.ok(transform.unprotect(phoneSends.protect(rtp(1)))?.equals(rtp(1)));
  const ours = transform.protect(rtp(7));
  const read = phoneReads.unprotect(ours);
  assert.ok(read.ok && read.packet.equals(rtp(7)));
  assert.equal(transform.unprotect(rtp(2)), undefined, 'plain RTP');
  assert.equal(transform.unprotect(new SrtpContext({ suite, master: key(2) }).protect(rtp(3))), undefined, 'our own key is not theirs');
  assert.deepEqual(transform.dropped, { authentication: 2 });
});

test('a re-INVITE: a direction whose key stayed keeps its context, a new key starts a new one', () => {
  const local = key(2);
  const first = new SrtpTransform({ suite, tag: '1', remote: key(1), local });
  const phone = new SrtpContext({ suite, master: key(1) });
  const packet = phone.protect(rtp(100));
  assert.ok(first.unprotect(packet));
  // Same keys (a hold): the replay window carries over, so the old packet stays a replay.
  const hold = new SrtpTransform({ suite, tag: '1', remote: key(1), local }, first);
  assert.equal(hold.unprotect(packet), undefined);
  assert.deepEqual(hold.dropped, { replay: 1 });
  // The phone changed its key: packets under the new one are read, the old key's no longer.
  const rekeyed = new SrtpTransform({ suite, tag: '2', remote: key(3), local }, hold);
  assert.ok(rekeyed.unprotect(new SrtpContext({ suite, master: key(3) }).protect(rtp(101))));
  assert.equal(rekeyed.unprotect(phone.protect(rtp(102))), undefined);
  // Our key stayed throughout: the phone's one context reads all our packets in sequence.
  const phoneReads = new SrtpContext({ suite, master: local });
  for (const [i, transform] of [first, hold, rekeyed].entries()) {
    const read = phoneReads.unprotect(transform.protect(rtp(65535 + i)));
    assert.ok(read.ok, `packet ${i}`);
  }
});
