/**
 * The datagrams edge replicas of one pool exchange on the media relay port (media-relay.ts), pod
 * IP to pod IP. Pure encoding and decoding; anything malformed is refused with a reason, never
 * thrown, since a relay port is as open to stray traffic as any other.
 *
 *   0  'H' 'R'          magic
 *   2  1                version
 *   3  kind             1 claim, 2 release, 3 from-phone, 4 to-phone
 *   4  rtpPort (u16)    the IVR port the phone sends to and hears from (1-65535)
 *   6  addressLength    then the phone's address as text (an IPv4 or IPv6 address, at most 45 bytes)
 *   .  phonePort (u16)  the phone's RTP source port; 0 in a claim or release, which name the address only
 *   .  payload          the phone's datagram (from-phone) or the call's (to-phone), 1-8192 bytes; none otherwise
 *
 * A claim says "my call on rtpPort serves the phone at this address": a peer that gets that phone's
 * RTP on that port relays it here. A release withdraws it.
 */
import { isIP } from 'node:net';

/** The relay port unless the pool uses it for something else (the controller then takes the next free one). */
export const DEFAULT_MEDIA_RELAY_PORT = 5070;

export type RelayKind = 'claim' | 'release' | 'from-phone' | 'to-phone';

export interface RelayDatagram {
  kind: RelayKind;
  rtpPort: number;
  phone: { address: string; port: number };
  payload: Buffer;
}

export type RelayDecodeResult = { ok: true; datagram: RelayDatagram } | { ok: false; problem: RelayProblem };

export type RelayProblem = 'too-short' | 'bad-magic' | 'bad-version' | 'bad-kind' | 'bad-port' | 'bad-address' | 'unexpected-payload' | 'missing-payload' | 'too-long';

/** A G.711 RTP packet is 172 bytes; SRTP adds a few. Anything far bigger is not a phone's voice. */
export const MAX_RELAYED_PAYLOAD = 8192;
const MAX_ADDRESS_TEXT = 45;
const VERSION = 1;
const MAGIC = [0x48, 0x52];
const KINDS: readonly RelayKind[] = ['claim', 'release', 'from-phone', 'to-phone'];
const FIXED_BYTES = 7;

function carriesMedia(kind: RelayKind): boolean {
  return kind === 'from-phone' || kind === 'to-phone';
}

export function encodeRelayDatagram(d: RelayDatagram): Buffer {
  const address = Buffer.from(d.phone.address, 'latin1');
  if (isIP(d.phone.address) === 0 || address.length > MAX_ADDRESS_TEXT) throw new RangeError(`not an IP address: ${JSON.stringify(d.phone.address)}`);
  if (!Number.isInteger(d.rtpPort) || d.rtpPort < 1 || d.rtpPort > 65535) throw new RangeError(`RTP port ${d.rtpPort} is outside 1-65535`);
  const media = carriesMedia(d.kind);
  const minPhonePort = media ? 1 : 0;
  if (!Number.isInteger(d.phone.port) || d.phone.port < minPhonePort || d.phone.port > 65535) throw new RangeError(`phone port ${d.phone.port} is outside ${minPhonePort}-65535`);
  if (media && (d.payload.length === 0 || d.payload.length > MAX_RELAYED_PAYLOAD)) throw new RangeError(`a relayed datagram carries 1-${MAX_RELAYED_PAYLOAD} bytes (got ${d.payload.length})`);
  if (!media && d.payload.length > 0) throw new RangeError(`a ${d.kind} carries no payload`);
  const head = Buffer.alloc(FIXED_BYTES + address.length + 2);
  head[0] = MAGIC[0]!;
  head[1] = MAGIC[1]!;
  head[2] = VERSION;
  head[3] = KINDS.indexOf(d.kind) + 1;
  head.writeUInt16BE(d.rtpPort, 4);
  head[6] = address.length;
  address.copy(head, FIXED_BYTES);
  head.writeUInt16BE(d.phone.port, FIXED_BYTES + address.length);
  return media ? Buffer.concat([head, d.payload]) : head;
}

export function decodeRelayDatagram(buf: Buffer): RelayDecodeResult {
  if (buf.length < FIXED_BYTES) return { ok: false, problem: 'too-short' };
  if (buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1]) return { ok: false, problem: 'bad-magic' };
  if (buf[2] !== VERSION) return { ok: false, problem: 'bad-version' };
  const kind = KINDS[buf[3]! - 1];
  if (kind === undefined) return { ok: false, problem: 'bad-kind' };
  const rtpPort = buf.readUInt16BE(4);
  if (rtpPort === 0) return { ok: false, problem: 'bad-port' };
  const addressLength = buf[6]!;
  if (addressLength === 0 || addressLength > MAX_ADDRESS_TEXT) return { ok: false, problem: 'bad-address' };
  const afterAddress = FIXED_BYTES + addressLength;
  if (buf.length < afterAddress + 2) return { ok: false, problem: 'too-short' };
  const address = buf.toString('latin1', FIXED_BYTES, afterAddress);
  if (isIP(address) === 0) return { ok: false, problem: 'bad-address' };
  const phonePort = buf.readUInt16BE(afterAddress);
  const payload = buf.subarray(afterAddress + 2);
  if (carriesMedia(kind)) {
    if (phonePort === 0) return { ok: false, problem: 'bad-port' };
    if (payload.length === 0) return { ok: false, problem: 'missing-payload' };
    if (payload.length > MAX_RELAYED_PAYLOAD) return { ok: false, problem: 'too-long' };
  } else if (payload.length > 0) {
    return { ok: false, problem: 'unexpected-payload' };
  }
  return { ok: true, datagram: { kind, rtpPort, phone: { address, port: phonePort }, payload } };
}
