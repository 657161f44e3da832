import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptAnswer, answerOffer, buildOffer, parseSdp, type LocalMediaOptions } from '../../src/media/sdp.ts';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';
const local: LocalMediaOptions = { localAddress: '127.0.0.1', localPort: 40000, sessionId: 1234, sessionVersion: 1 };

// What SIPp's uac scenarios with RTP send (PCMA + telephone-event, as in its pcap play scenarios).
const SIPP_OFFER = crlf([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 8 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-11,16',
]);

// baresip's default: wideband codecs first, G.711 after, DTMF on 101, RTCP multiplexed.
const BARESIP_OFFER = crlf([
  'v=0',
  'o=- 1431463537 3032826375 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'a=tool:baresip 1.0.0',
  'm=audio 10114 RTP/AVP 96 9 0 8 101',
  'b=AS:64',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtcp-mux',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:2384211471 cname:c2a3f7e1-4f1e',
]);

interface Case {
  name: string;
  offer: string;
  expect:
    | { ok: true; codec: string; pt: number; dtmfPt: number | undefined; remote: string; port: number; direction?: string }
    | { ok: false; reasonIncludes: string[] };
}

const cases: Case[] = [
  { name: 'SIPp offer, PCMA only with telephone-event', offer: SIPP_OFFER, expect: { ok: true, codec: 'PCMA', pt: 8, dtmfPt: 101, remote: '127.0.0.1', port: 6000 } },
  { name: 'baresip offer: first G.711 in the offerer order, its DTMF type', offer: BARESIP_OFFER, expect: { ok: true, codec: 'PCMU', pt: 0, dtmfPt: 101, remote: '192.0.2.10', port: 10114 } },
  {
    name: 'PCMA preferred over PCMU by the offerer, telephone-event on 96',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 198.51.100.7', 's=-', 'c=IN IP4 198.51.100.7', 't=0 0', 'm=audio 11780 RTP/AVP 8 0 18 96', 'a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15']),
    expect: { ok: true, codec: 'PCMA', pt: 8, dtmfPt: 96, remote: '198.51.100.7', port: 11780 },
  },
  {
    name: 'static types without rtpmap lines, no telephone-event (DTMF by INFO only)',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/AVP 0']),
    expect: { ok: true, codec: 'PCMU', pt: 0, dtmfPt: undefined, remote: '10.1.1.1', port: 5004 },
  },
  {
    name: 'media-level connection wins over the session one; sendonly is answered recvonly',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/AVP 0 101', 'c=IN IP4 10.2.2.2', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly']),
    expect: { ok: true, codec: 'PCMU', pt: 0, dtmfPt: 101, remote: '10.2.2.2', port: 5004, direction: 'recvonly' },
  },
  {
    name: 'no common codec',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/AVP 9 96 101', 'a=rtpmap:9 G722/8000', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:101 telephone-event/8000']),
    expect: { ok: false, reasonIncludes: ['no common codec', 'G722/8000', 'opus/48000', 'PCMU and PCMA'] },
  },
  {
    name: 'PCMU at 16 kHz is not G.711',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/AVP 97', 'a=rtpmap:97 PCMU/16000']),
    expect: { ok: false, reasonIncludes: ['no common codec'] },
  },
  {
    name: 'SRTP only',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/SAVP 0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz']),
    expect: { ok: false, reasonIncludes: ['RTP/SAVP', 'needs SIP over TLS'] },
  },
  {
    name: 'audio stream disabled with port 0',
    offer: crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 0 RTP/AVP 0']),
    expect: { ok: false, reasonIncludes: ['no active audio stream'] },
  },
  {
    name: 'not SDP at all',
    offer: 'hello',
    expect: { ok: false, reasonIncludes: ['unreadable offer', 'v=0'] },
  },
];

for (const c of cases) {
  test(`answerOffer: ${c.name}`, () => {
    const result = answerOffer(c.offer, local);
    if (!c.expect.ok) {
      assert.equal(result.ok, false);
      if (result.ok) return;
      for (const part of c.expect.reasonIncludes) assert.ok(result.reason.includes(part), `reason "${result.reason}" lacks "${part}"`);
      return;
    }
    assert.ok(result.ok, result.ok ? '' : result.reason);
    if (!result.ok) return;
    assert.deepEqual(result.media.codec, { name: c.expect.codec, payloadType: c.expect.pt });
    assert.equal(result.media.telephoneEventPayloadType, c.expect.dtmfPt);
    assert.deepEqual(result.media.remote, { address: c.expect.remote, port: c.expect.port });
    assert.equal(result.media.direction, c.expect.direction ?? 'sendrecv');

    // The answer itself, read back as the phone would read it.
    const answer = parseSdp(result.sdp);
    assert.ok(answer.ok);
    if (!answer.ok) return;
    assert.deepEqual(answer.sdp.connection, { addressType: 'IP4', address: '127.0.0.1' });
    const [audio] = answer.sdp.media;
    assert.ok(audio);
    assert.equal(audio.port, 40000);
    assert.equal(audio.protocol, 'RTP/AVP');
    assert.deepEqual(audio.payloadTypes, c.expect.dtmfPt === undefined ? [c.expect.pt] : [c.expect.pt, c.expect.dtmfPt]);
    assert.deepEqual(audio.rtpmap.get(c.expect.pt), { encoding: c.expect.codec, clockRate: 8000 });
    if (c.expect.dtmfPt !== undefined) {
      assert.deepEqual(audio.rtpmap.get(c.expect.dtmfPt), { encoding: 'telephone-event', clockRate: 8000 });
      assert.equal(audio.fmtp.get(c.expect.dtmfPt), '0-16');
    }
    assert.equal(audio.ptime, 20);
    assert.equal(audio.direction, c.expect.direction ?? 'sendrecv');
    assert.ok(result.sdp.endsWith('\r\n') && !/[^\r]\n/.test(result.sdp), 'answer lines end in CRLF');
  });
}

test('answerOffer keeps one m-line per offered stream and rejects the ones it does not take', () => {
  const offer = crlf(['v=0', 'o=- 1 1 IN IP4 10.1.1.1', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=video 5006 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'm=audio 5004 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000']);
  const result = answerOffer(offer, local);
  assert.ok(result.ok);
  if (!result.ok) return;
  const mLines = result.sdp.split('\r\n').filter((l) => l.startsWith('m='));
  assert.deepEqual(mLines, ['m=video 0 RTP/AVP 96', 'm=audio 40000 RTP/AVP 0 101']);
});

test('buildOffer offers PCMU, PCMA and telephone-event 0-16, and reads back the peer answer', () => {
  const offer = buildOffer({ ...local, localAddress: '127.0.0.2', localPort: 41000 });
  const parsed = parseSdp(offer);
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const [audio] = parsed.sdp.media;
  assert.ok(audio);
  assert.equal(audio.port, 41000);
  assert.deepEqual(audio.payloadTypes, [0, 8, 101]);
  assert.deepEqual(audio.rtpmap.get(101), { encoding: 'telephone-event', clockRate: 8000 });
  assert.equal(audio.fmtp.get(101), '0-16');
  assert.equal(parsed.sdp.origin.sessionId, '1234');

  // A phone that only does PCMA answers our offer; we send to its address with its choice.
  const peer = answerOffer(offer, { localAddress: '127.0.0.3', localPort: 42000, sessionId: 9, sessionVersion: 9, codecs: ['PCMA'] });
  assert.ok(peer.ok);
  if (!peer.ok) return;
  const accepted = acceptAnswer(peer.sdp);
  assert.ok(accepted.ok);
  if (!accepted.ok) return;
  assert.deepEqual(accepted.media, {
    remote: { address: '127.0.0.3', port: 42000 },
    codec: { name: 'PCMA', payloadType: 8 },
    telephoneEventPayloadType: 101,
    direction: 'sendrecv',
  });
});

test('parseSdp reads IPv6 connections and rejects an SDP without origin', () => {
  const v6 = parseSdp(crlf(['v=0', 'o=- 1 1 IN IP6 ::1', 's=-', 'c=IN IP6 ::1', 't=0 0', 'm=audio 5004 RTP/AVP 0']));
  assert.ok(v6.ok);
  if (v6.ok) assert.deepEqual(v6.sdp.connection, { addressType: 'IP6', address: '::1' });
  const noOrigin = parseSdp(crlf(['v=0', 's=-', 'c=IN IP4 10.1.1.1', 't=0 0', 'm=audio 5004 RTP/AVP 0']));
  assert.deepEqual(noOrigin, { ok: false, reason: 'SDP has no origin ("o=") line' });
});
