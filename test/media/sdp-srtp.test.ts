import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerOffer, type LocalMediaOptions } from '../../src/media/sdp.ts';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';
const local: LocalMediaOptions = { localAddress: '203.0.113.5', localPort: 20000, sessionId: 1, sessionVersion: 1 };

function offer(...media: string[][]): string {
  return crlf(['v=0', 'o=phone 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...media.flat()]);
}
const CRYPTO = 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';

const cases: Array<{ name: string; sdp: string; ok: boolean; srtpOnly?: true }> = [
  { name: 'SDES-SRTP only (Linphone, SRTP mandatory)', sdp: offer(['m=audio 7078 RTP/SAVP 0 101', 'a=rtpmap:101 telephone-event/8000', CRYPTO]), ok: false, srtpOnly: true },
  { name: 'SAVPF only', sdp: offer(['m=audio 7078 RTP/SAVPF 0', CRYPTO]), ok: false, srtpOnly: true },
  { name: 'DTLS-SRTP only', sdp: offer(['m=audio 7078 UDP/TLS/RTP/SAVPF 0', 'a=fingerprint:sha-256 AB:CD']), ok: false, srtpOnly: true },
  { name: 'SRTP and a plain RTP stream: the plain one is answered', sdp: offer(['m=audio 7078 RTP/SAVP 0', CRYPTO], ['m=audio 7080 RTP/AVP 0']), ok: true },
  { name: 'plain RTP with no common codec is no SRTP problem', sdp: offer(['m=audio 7078 RTP/AVP 9', 'a=rtpmap:9 G722/8000']), ok: false },
  { name: 'SRTP stream disabled (port 0) beside a plain codec mismatch', sdp: offer(['m=audio 0 RTP/SAVP 0'], ['m=audio 7080 RTP/AVP 18']), ok: false },
];

for (const c of cases) {
  test(`SRTP offers: ${c.name}`, () => {
    const got = answerOffer(c.sdp, local);
    assert.equal(got.ok, c.ok, got.ok ? got.sdp : got.reason);
    if (!got.ok) assert.equal(got.srtpOnly, c.srtpOnly, got.reason);
  });
}
