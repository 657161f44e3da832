/**
 * ITU-T G.711 companding between 16-bit linear PCM and 8-bit µ-law (PCMU, RTP payload type 0) or
 * A-law (PCMA, payload type 8). Pure functions; the tables are built once because the IVR encodes
 * whole prompts and decodes every received voice packet.
 */

/** The byte each law uses for digital silence; pads the last packet of a prompt. */
export const MULAW_SILENCE = 0xff;
export const ALAW_SILENCE = 0xd5;

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

export function linearToMulaw(sample: number): number {
  let magnitude = sample < 0 ? -sample : sample;
  const sign = sample < 0 ? 0x80 : 0;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  // The segment is the position of the highest set bit above bit 7 (0..7).
  let segment = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && segment > 0; mask >>= 1) segment--;
  const mantissa = (magnitude >> (segment + 3)) & 0x0f;
  return ~(sign | (segment << 4) | mantissa) & 0xff;
}

export function mulawToLinear(code: number): number {
  const inverted = ~code & 0xff;
  const segment = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  const magnitude = (((mantissa << 3) + MULAW_BIAS) << segment) - MULAW_BIAS;
  return inverted & 0x80 ? -magnitude : magnitude;
}

export function linearToAlaw(sample: number): number {
  // A-law works on 13-bit samples; negative values use one's complement so that -1 and 0 share a code.
  let value = sample >> 3;
  let signMask = 0xd5;
  if (value < 0) {
    signMask = 0x55;
    value = -value - 1;
  }
  let segment = 0;
  while (segment < 8 && value >= 0x20 << segment) segment++;
  if (segment >= 8) return 0x7f ^ signMask;
  const mantissa = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ signMask;
}

export function alawToLinear(code: number): number {
  const value = code ^ 0x55;
  const segment = (value & 0x70) >> 4;
  let magnitude = (value & 0x0f) << 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

const MULAW_DECODE = Int16Array.from({ length: 256 }, (_, code) => mulawToLinear(code));
const ALAW_DECODE = Int16Array.from({ length: 256 }, (_, code) => alawToLinear(code));

export type G711Law = 'mulaw' | 'alaw';

export function encodeG711(law: G711Law, pcm: Int16Array): Buffer {
  const encode = law === 'mulaw' ? linearToMulaw : linearToAlaw;
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = encode(pcm[i] ?? 0);
  return out;
}

export function decodeG711(law: G711Law, encoded: Uint8Array): Int16Array {
  const table = law === 'mulaw' ? MULAW_DECODE : ALAW_DECODE;
  const out = new Int16Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = table[encoded[i] ?? 0] ?? 0;
  return out;
}

/** The static RTP payload type of each law (RFC 3551). */
export const G711_PAYLOAD_TYPE = { mulaw: 0, alaw: 8 } as const;

export function lawForPayloadType(pt: number): G711Law {
  if (pt === G711_PAYLOAD_TYPE.mulaw) return 'mulaw';
  if (pt === G711_PAYLOAD_TYPE.alaw) return 'alaw';
  throw new Error(`payload type ${pt} is not G.711 (PCMU is 0, PCMA is 8)`);
}

export function silenceByte(law: G711Law): number {
  return law === 'mulaw' ? MULAW_SILENCE : ALAW_SILENCE;
}
