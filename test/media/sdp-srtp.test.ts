import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerOffer, parseSdp, type LocalMediaOptions, type SrtpRefusal } from '../../src/media/sdp.ts';
import { formatSdesCrypto, parseSdesCrypto } from '../../src/media/sdes-crypto-attribute.ts';
import { srtpWarning } from '../../src/edge/feature-call.ts';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';
const local: LocalMediaOptions = { localAddress: '203.0.113.5', localPort: 20000, sessionId: 1, sessionVersion: 1 };
const overTls: LocalMediaOptions = { ...local, sdes: true };

function offer(...media: string[][]): string {
  return crlf(['v=0', 'o=phone 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...media.flat()]);
}
const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';
const CRYPTO = `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`;

const cases: Array<{ name: string; sdp: string; opts?: LocalMediaOptions; ok: boolean; srtp?: SrtpRefusal }> = [
  { name: 'SDES-SRTP only, not over TLS: the keys would travel in the clear', sdp: offer(['m=audio 7078 RTP/SAVP 0 101', 'a=rtpmap:101 telephone-event/8000', CRYPTO]), ok: false, srtp: 'needs-tls' },
  { name: 'SDES-SRTP only, over TLS', sdp: offer(['m=audio 7078 RTP/SAVP 0 101', 'a=rtpmap:101 telephone-event/8000', CRYPTO]), opts: overTls, ok: true },
  { name: 'SAVPF only, over TLS', sdp: offer(['m=audio 7078 RTP/SAVPF 0', CRYPTO]), opts: overTls, ok: false, srtp: 'savpf' },
  { name: 'DTLS-SRTP only, over TLS', sdp: offer(['m=audio 7078 UDP/TLS/RTP/SAVPF 0', 'a=fingerprint:sha-256 AB:CD']), opts: overTls, ok: false, srtp: 'dtls' },
  { name: 'DTLS-SRTP only, not over TLS', sdp: offer(['m=audio 7078 UDP/TLS/RTP/SAVP 0', 'a=fingerprint:sha-256 AB:CD']), ok: false, srtp: 'dtls' },
  { name: 'RTP/SAVP without a=crypto', sdp: offer(['m=audio 7078 RTP/SAVP 0']), opts: overTls, ok: false, srtp: 'crypto' },
  { name: 'only an unsupported suite', sdp: offer(['m=audio 7078 RTP/SAVP 0', `a=crypto:1 AEAD_AES_256_GCM inline:${KEY}AAAAAAAAAAAAAAAAAAAAAAAA`]), opts: overTls, ok: false, srtp: 'crypto' },
  { name: 'only a key with an MKI', sdp: offer(['m=audio 7078 RTP/SAVP 0', `${CRYPTO}|2^20|1:4`]), opts: overTls, ok: false, srtp: 'crypto' },
  { name: 'an MKI line, then a usable one', sdp: offer(['m=audio 7078 RTP/SAVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`, `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`]), opts: overTls, ok: true },
  { name: 'SRTP over TLS with no common codec is a codec problem', sdp: offer(['m=audio 7078 RTP/SAVP 9', 'a=rtpmap:9 G722/8000', CRYPTO]), opts: overTls, ok: false },
  { name: 'SRTP and a plain RTP stream, not over TLS: the plain one is answered', sdp: offer(['m=audio 7078 RTP/SAVP 0', CRYPTO], ['m=audio 7080 RTP/AVP 0']), ok: true },
  { name: 'plain RTP with no common codec is no SRTP problem', sdp: offer(['m=audio 7078 RTP/AVP 9', 'a=rtpmap:9 G722/8000']), ok: false },
  { name: 'plain RTP over TLS still works', sdp: offer(['m=audio 7078 RTP/AVP 0']), opts: overTls, ok: true },
  { name: 'SRTP stream disabled (port 0) beside a plain codec mismatch', sdp: offer(['m=audio 0 RTP/SAVP 0'], ['m=audio 7080 RTP/AVP 18']), ok: false },
];

for (const c of cases) {
  test(`SRTP offers: ${c.name}`, () => {
    const got = answerOffer(c.sdp, c.opts ?? local);
    assert.equal(got.ok, c.ok, got.ok ? got.sdp : got.reason);
    if (!got.ok) assert.equal(got.srtp, c.srtp, got.reason);
  });
}

test('the answer to SDES-SRTP: RTP/SAVP, the tag and suite of the line taken, a fresh key of our own', () => {
  const sdp = offer(['m=audio 7078 RTP/SAVP 0 101', 'a=rtpmap:101 telephone-event/8000', `a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^20`, `a=crypto:8 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
  const first = answerOffer(sdp, overTls);
  const second = answerOffer(sdp, overTls);
  assert.ok(first.ok && second.ok);
  if (!first.ok || !second.ok) return;
  const media = parseSdp(first.sdp);
  assert.ok(media.ok);
  if (!media.ok) return;
  const audio = media.sdp.media[0]!;
  assert.equal(audio.protocol, 'RTP/SAVP');
  assert.equal(audio.crypto.length, 1);
  const ours = parseSdesCrypto(audio.crypto[0]!);
  assert.ok(ours.ok);
  if (!ours.ok) return;
  assert.equal(ours.crypto.tag, '7');
  assert.equal(ours.crypto.suite.name, 'AES_CM_128_HMAC_SHA1_32');
  assert.equal(ours.crypto.lifetime, undefined, 'our key has the default lifetime');
  assert.notEqual(ours.crypto.master.concatenated.toString('base64'), KEY, 'never the offerer\'s key');
  assert.ok(ours.crypto.master.concatenated.equals(first.media.srtp!.local.concatenated));
  assert.equal(first.media.srtp!.remote.concatenated.toString('base64'), KEY);
  assert.equal(first.media.srtp!.remoteLifetime, 2 ** 20);
  assert.notEqual(second.media.srtp!.local.concatenated.toString('hex'), first.media.srtp!.local.concatenated.toString('hex'), 'a new key per answer');
  // A re-INVITE keeps the call's key.
  const again = answerOffer(sdp, { ...overTls, localSrtpKey: first.media.srtp!.local });
  assert.ok(again.ok && again.media.srtp!.local === first.media.srtp!.local);
  assert.match(again.ok ? again.sdp : '', new RegExp(`a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${first.media.srtp!.local.concatenated.toString('base64').replace(/[+/]/g, '\\$&')}\r\n`));
});

const attributeCases: Array<{ name: string; value: string; ok: boolean; reason?: RegExp; lifetime?: number }> = [
  { name: 'plain key', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, ok: true },
  { name: 'decimal lifetime', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1048576`, ok: true, lifetime: 1048576 },
  { name: 'power-of-two lifetime', value: `12 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^31`, ok: true, lifetime: 2 ** 31 },
  { name: 'harmless session parameters', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=0 WSH=128 UNENCRYPTED_SRTCP`, ok: true },
  { name: 'MKI', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:32`, ok: false, reason: /MKI/ },
  { name: 'MKI without lifetime', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1:4`, ok: false, reason: /MKI/ },
  { name: 'two keys', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4;inline:${KEY}|2^20|2:4`, ok: false, reason: /several master keys/ },
  { name: 'unknown suite', value: `1 F8_128_HMAC_SHA1_80 inline:${KEY}`, ok: false, reason: /F8_128_HMAC_SHA1_80 is not supported/ },
  { name: 'key derivation rate', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=24`, ok: false, reason: /KDR/ },
  { name: 'unencrypted SRTP', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`, ok: false, reason: /UNENCRYPTED_SRTP/ },
  { name: 'unauthenticated SRTP', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNAUTHENTICATED_SRTP`, ok: false, reason: /UNAUTHENTICATED_SRTP/ },
  { name: 'key too short', value: '1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9', ok: false, reason: /30 bytes/ },
  { name: 'key not base64', value: '1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVub!!!', ok: false, reason: /30 bytes/ },
  { name: 'lifetime beyond 2^31', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^48`, ok: false, reason: /lifetime/ },
  { name: 'two lifetimes', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|2^20`, ok: false, reason: /lifetime/ },
  { name: 'other key method', value: '1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key', ok: false, reason: /inline/ },
  { name: 'tag not a number', value: `x AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, ok: false, reason: /malformed/ },
  { name: 'no key', value: '1 AES_CM_128_HMAC_SHA1_80', ok: false, reason: /malformed/ },
];

for (const c of attributeCases) {
  test(`a=crypto: ${c.name}`, () => {
    const got = parseSdesCrypto(c.value);
    assert.equal(got.ok, c.ok, got.ok ? '' : got.reason);
    if (got.ok) assert.equal(got.crypto.lifetime, c.lifetime);
    else {
      assert.match(got.reason, c.reason!);
      assert.doesNotMatch(got.reason, /WVNfX19/, 'a reason never quotes the key');
    }
  });
}

test('a=crypto written by us reads back the same', () => {
  const parsed = parseSdesCrypto(`3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  assert.equal(formatSdesCrypto('3', parsed.crypto.suite, parsed.crypto.master), `3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
});

test('the Warning says what to change and never holds a double quote', () => {
  const cases: Array<{ refusal: SrtpRefusal; tlsPort?: number; expected: RegExp }> = [
    { refusal: 'needs-tls', tlsPort: 5061, expected: /^SRTP needs SIP over TLS: register the phone over TLS \(port 5061\)/ },
    { refusal: 'needs-tls', expected: /^SRTP needs SIP over TLS, which this edge does not offer/ },
    { refusal: 'dtls', expected: /^DTLS-SRTP not supported/ },
    { refusal: 'savpf', expected: /^RTP\/SAVPF not supported/ },
    { refusal: 'crypto', expected: /AES_CM_128_HMAC_SHA1_80/ },
  ];
  for (const c of cases) {
    const text = srtpWarning(c.refusal, c.tlsPort);
    assert.match(text, c.expected);
    assert.doesNotMatch(text, /"/);
  }
});
