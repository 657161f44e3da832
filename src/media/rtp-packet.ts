/**
 * RTP fixed header (RFC 3550 section 5.1) encoding and decoding. Pure: the session that owns the
 * socket lives in rtp-session.ts.
 */

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Contributing sources; empty for everything a desk phone sends. */
  csrc: number[];
  payload: Buffer;
}

const RTP_VERSION = 2;
const FIXED_HEADER_BYTES = 12;

export function encodeRtpPacket(packet: Omit<RtpPacket, 'csrc'> & { csrc?: number[] }): Buffer {
  const csrc = packet.csrc ?? [];
  if (csrc.length > 15) throw new RangeError('an RTP packet carries at most 15 CSRCs');
  if (packet.payloadType < 0 || packet.payloadType > 127) throw new RangeError(`payload type ${packet.payloadType} is outside 0..127`);
  const header = Buffer.alloc(FIXED_HEADER_BYTES + 4 * csrc.length);
  header[0] = (RTP_VERSION << 6) | csrc.length;
  header[1] = (packet.marker ? 0x80 : 0) | packet.payloadType;
  header.writeUInt16BE(packet.sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(packet.timestamp >>> 0, 4);
  header.writeUInt32BE(packet.ssrc >>> 0, 8);
  csrc.forEach((source, i) => header.writeUInt32BE(source >>> 0, FIXED_HEADER_BYTES + 4 * i));
  return Buffer.concat([header, packet.payload]);
}

export type RtpDecodeResult = { ok: true; packet: RtpPacket } | { ok: false; reason: string };

/** Decodes one datagram; anything that is not RTP version 2 is refused with a reason rather than thrown. */
export function decodeRtpPacket(datagram: Buffer): RtpDecodeResult {
  if (datagram.length < FIXED_HEADER_BYTES) return { ok: false, reason: `datagram of ${datagram.length} bytes is shorter than an RTP header` };
  const first = datagram[0] ?? 0;
  const version = first >> 6;
  if (version !== RTP_VERSION) return { ok: false, reason: `RTP version ${version}, expected 2` };
  const hasPadding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const second = datagram[1] ?? 0;
  let offset = FIXED_HEADER_BYTES + 4 * csrcCount;
  if (datagram.length < offset) return { ok: false, reason: 'datagram ends inside the CSRC list' };
  const csrc: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrc.push(datagram.readUInt32BE(FIXED_HEADER_BYTES + 4 * i));
  if (hasExtension) {
    if (datagram.length < offset + 4) return { ok: false, reason: 'datagram ends inside the header extension' };
    const extensionWords = datagram.readUInt16BE(offset + 2);
    offset += 4 + 4 * extensionWords;
    if (datagram.length < offset) return { ok: false, reason: 'datagram ends inside the header extension' };
  }
  let end = datagram.length;
  if (hasPadding) {
    const padding = datagram[datagram.length - 1] ?? 0;
    if (padding === 0 || end - padding < offset) return { ok: false, reason: `invalid padding length ${padding}` };
    end -= padding;
  }
  return {
    ok: true,
    packet: {
      marker: (second & 0x80) !== 0,
      payloadType: second & 0x7f,
      sequenceNumber: datagram.readUInt16BE(2),
      timestamp: datagram.readUInt32BE(4),
      ssrc: datagram.readUInt32BE(8),
      csrc,
      payload: datagram.subarray(offset, end),
    },
  };
}
