import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToMulaw, mulawToLinear } from '../../src/media/g711.ts';

test('silence encodes to the codes phones expect (µ-law 0xFF, A-law 0xD5) and decodes to zero', () => {
  assert.equal(linearToMulaw(0), 0xff);
  assert.equal(linearToAlaw(0), 0xd5);
  assert.equal(mulawToLinear(0xff), 0);
  assert.equal(Math.abs(alawToLinear(0xd5)), 8);
});

for (const [law, encode, decode, clip] of [
  ['µ-law', linearToMulaw, mulawToLinear, 32635],
  ['A-law', linearToAlaw, alawToLinear, 32767],
] as const) {
  test(`${law}: every 16-bit sample survives a round trip within half a quantisation step`, () => {
    for (let x = -32768; x <= 32767; x++) {
      const limited = Math.max(-clip, Math.min(clip, x));
      const y = decode(encode(x));
      // The step of G.711's segment for |x| is about |x|/16, so half a step is |x|/32 (+ the fine
      // segments' fixed step near zero).
      const allowed = Math.abs(limited) / 32 + 16;
      const error = Math.abs(y - limited);
      assert.ok(error <= allowed, `${law} ${x} -> ${encode(x)} -> ${y}: error ${error} > ${allowed}`);
      assert.equal(Math.sign(y) === -Math.sign(x) && Math.abs(x) > 16, false, `${law} ${x} changed sign`);
    }
  });

  test(`${law}: decoding is monotonic in the sample value and re-encoding a decoded code gives the code back`, () => {
    const codes = Array.from({ length: 256 }, (_, c) => c);
    for (const code of codes) {
      const value = decode(code);
      // µ-law has a negative zero (0x7F) that re-encodes as the positive zero 0xFF.
      if (law === 'µ-law' && code === 0x7f) assert.equal(encode(value), 0xff);
      else assert.equal(encode(value), code, `code ${code.toString(16)} -> ${value}`);
    }
    const sorted = codes.map(decode).sort((a, b) => a - b);
    assert.equal(new Set(sorted).size, law === 'µ-law' ? 255 : 256);
  });
}

test('buffer helpers encode and decode a whole signal', () => {
  const pcm = Int16Array.from({ length: 800 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  for (const law of ['mulaw', 'alaw'] as const) {
    const encoded = encodeG711(law, pcm);
    assert.equal(encoded.length, 800);
    const decoded = decodeG711(law, encoded);
    const worst = Math.max(...Array.from(pcm, (x, i) => Math.abs(x - (decoded[i] ?? 0))));
    assert.ok(worst <= 8000 / 32 + 16, `${law} worst error ${worst}`);
  }
});
