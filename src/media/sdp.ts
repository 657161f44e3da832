/**
 * The SDP the IVR needs (RFC 4566 parsing, RFC 3264 offer/answer): an audio stream of G.711 PCMU or
 * PCMA plus RFC 4733 telephone-event, as plain RTP or, when the caller allows it, SDES-SRTP
 * (RTP/SAVP with a=crypto, RFC 4568). Pure: the SIP layer hands in bodies and gets bodies back.
 */
import { formatSdesCrypto, newSrtpMasterKey, parseSdesCrypto, type SdesCrypto } from './sdes-crypto-attribute.ts';
import type { SrtpMasterKey, SrtpSuite } from './srtp-suites.ts';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpConnection {
  addressType: 'IP4' | 'IP6';
  address: string;
}

export interface RtpMapEntry {
  encoding: string;
  clockRate: number;
  channels?: number;
}

export interface SdpMedia {
  media: string;
  port: number;
  protocol: string;
  /** The format list exactly as offered (payload type numbers for RTP). */
  formats: string[];
  payloadTypes: number[];
  connection?: SdpConnection;
  rtpmap: Map<number, RtpMapEntry>;
  fmtp: Map<number, string>;
  direction?: MediaDirection;
  ptime?: number;
  /** The a=crypto values (RFC 4568), in the offerer's order of preference. */
  crypto: string[];
}

export interface SessionDescription {
  origin: { username: string; sessionId: string; sessionVersion: string; address: string };
  sessionName: string;
  connection?: SdpConnection;
  direction?: MediaDirection;
  media: SdpMedia[];
}

export type SdpParseResult = { ok: true; sdp: SessionDescription } | { ok: false; reason: string };

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function parseConnection(value: string): SdpConnection | string {
  const [netType, addressType, address] = value.trim().split(/\s+/);
  if (netType !== 'IN' || (addressType !== 'IP4' && addressType !== 'IP6') || !address) return `unsupported connection line "c=${value}"`;
  // Multicast connection addresses carry "/ttl"; the IVR only needs the address itself.
  return { addressType, address: address.split('/')[0] ?? address };
}

export function parseSdp(text: string): SdpParseResult {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') return { ok: false, reason: 'SDP must start with "v=0"' };
  let origin: SessionDescription['origin'] | undefined;
  let sessionName = '';
  let sessionConnection: SdpConnection | undefined;
  let sessionDirection: MediaDirection | undefined;
  const media: SdpMedia[] = [];
  let current: SdpMedia | undefined;

  for (const line of lines.slice(1)) {
    if (line[1] !== '=') return { ok: false, reason: `malformed SDP line "${line}"` };
    const type = line[0];
    const value = line.slice(2);
    switch (type) {
      case 'o': {
        const [username, sessionId, sessionVersion, , , address] = value.split(/\s+/);
        if (!username || !sessionId || !sessionVersion || !address) return { ok: false, reason: `malformed origin line "o=${value}"` };
        origin = { username, sessionId, sessionVersion, address };
        break;
      }
      case 's':
        sessionName = value;
        break;
      case 'c': {
        const connection = parseConnection(value);
        if (typeof connection === 'string') return { ok: false, reason: connection };
        if (current) current.connection = connection;
        else sessionConnection = connection;
        break;
      }
      case 'm': {
        const [mediaType, portField, protocol, ...formats] = value.split(/\s+/);
        const port = Number.parseInt(portField?.split('/')[0] ?? '', 10);
        if (!mediaType || !protocol || !Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, reason: `malformed media line "m=${value}"` };
        current = {
          media: mediaType,
          port,
          protocol,
          formats,
          payloadTypes: formats.map((f) => Number(f)).filter((n) => Number.isInteger(n) && n >= 0 && n <= 127),
          rtpmap: new Map(),
          fmtp: new Map(),
          crypto: [],
        };
        media.push(current);
        break;
      }
      case 'a': {
        const colon = value.indexOf(':');
        const name = colon < 0 ? value : value.slice(0, colon);
        const attr = colon < 0 ? '' : value.slice(colon + 1);
        if (DIRECTIONS.has(name)) {
          if (current) current.direction = name as MediaDirection;
          else sessionDirection = name as MediaDirection;
        } else if (current && name === 'rtpmap') {
          const match = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(attr);
          if (match) {
            const entry: RtpMapEntry = { encoding: match[2] ?? '', clockRate: Number(match[3]) };
            if (match[4]) entry.channels = Number(match[4]);
            current.rtpmap.set(Number(match[1]), entry);
          }
        } else if (current && name === 'fmtp') {
          const match = /^(\d+)\s+(.*)$/.exec(attr);
          if (match) current.fmtp.set(Number(match[1]), match[2] ?? '');
        } else if (current && name === 'crypto') {
          current.crypto.push(attr);
        } else if (current && name === 'ptime') {
          const ptime = Number(attr);
          if (Number.isFinite(ptime) && ptime > 0) current.ptime = ptime;
        }
        break;
      }
      default:
        // b=, t=, k=, i=, u=, e=, p=, z=, r= carry nothing the IVR acts on.
        break;
    }
  }
  if (!origin) return { ok: false, reason: 'SDP has no origin ("o=") line' };
  const sdp: SessionDescription = { origin, sessionName, media };
  if (sessionConnection) sdp.connection = sessionConnection;
  if (sessionDirection) sdp.direction = sessionDirection;
  return { ok: true, sdp };
}

export type G711Codec = 'PCMU' | 'PCMA';
const STATIC_G711: ReadonlyMap<number, G711Codec> = new Map([
  [0, 'PCMU'],
  [8, 'PCMA'],
]);
/** Telephone events the IVR announces: the 16 DTMF keys and flash (RFC 4733 section 3.2). */
export const TELEPHONE_EVENTS = '0-16';
export const DEFAULT_TELEPHONE_EVENT_PT = 101;
export const PTIME_MS = 20;

/** What both sides agreed on: where to send RTP, and which payload types mean voice and DTMF. */
export interface NegotiatedMedia {
  remote: { address: string; port: number };
  codec: { name: G711Codec; payloadType: number };
  /** Absent when the peer offered no telephone-event; DTMF then only comes by SIP INFO. */
  telephoneEventPayloadType?: number;
  /** Our direction, as written in the answer (or read back from the peer's answer, inverted). */
  direction: MediaDirection;
  /** Present when the stream is SDES-SRTP: the keys of both directions. */
  srtp?: NegotiatedSrtp;
}

export interface NegotiatedSrtp {
  suite: SrtpSuite;
  /** The tag of the offer's a=crypto line we took, echoed in our answer. */
  tag: string;
  /** The caller's key: what we unprotect its RTP with. */
  remote: SrtpMasterKey;
  remoteLifetime?: number;
  /** Ours, sent in the answer: what we protect our RTP with. */
  local: SrtpMasterKey;
}

/**
 * Why an offer whose every audio stream is secure RTP was refused, for the Warning the phone shows:
 * SDES-SRTP over signalling that is not TLS (the keys would travel in the clear), a DTLS-SRTP or
 * RTP/SAVPF offer, or no a=crypto line the IVR can honour.
 */
export type SrtpRefusal = 'needs-tls' | 'dtls' | 'savpf' | 'crypto';

/** A refused offer; `srtp` when every audio stream it offers is secure RTP and that is why (the phone insists on SRTP). */
export type AnswerResult = { ok: true; media: NegotiatedMedia; sdp: string } | { ok: false; reason: string; srtp?: SrtpRefusal };
export type AcceptResult = { ok: true; media: NegotiatedMedia } | { ok: false; reason: string };

function g711CodecOf(media: SdpMedia, pt: number): G711Codec | undefined {
  const mapped = media.rtpmap.get(pt);
  if (!mapped) return STATIC_G711.get(pt);
  const name = mapped.encoding.toUpperCase();
  if ((name === 'PCMU' || name === 'PCMA') && mapped.clockRate === 8000 && (mapped.channels ?? 1) === 1) return name;
  return undefined;
}

function telephoneEventPtOf(media: SdpMedia): number | undefined {
  return media.payloadTypes.find((pt) => {
    const mapped = media.rtpmap.get(pt);
    return mapped !== undefined && mapped.encoding.toLowerCase() === 'telephone-event' && mapped.clockRate === 8000;
  });
}

function describeFormats(media: SdpMedia): string {
  return media.formats
    .map((f) => {
      const mapped = media.rtpmap.get(Number(f));
      if (mapped) return `${mapped.encoding}/${mapped.clockRate} (${f})`;
      return STATIC_G711.has(Number(f)) ? `${STATIC_G711.get(Number(f))} (${f})` : f;
    })
    .join(', ');
}

const RTP_PROFILES: ReadonlySet<string> = new Set(['RTP/AVP', 'RTP/AVPF']);
const SDES_PROFILE = 'RTP/SAVP';

/** SAVP, SAVPF (SDES-SRTP) and UDP/TLS/RTP/SAVP(F) (DTLS-SRTP): secure RTP, of which the IVR speaks SDES as RTP/SAVP. */
function isSecureProfile(protocol: string): boolean {
  return /(^|\/)SAVPF?$/i.test(protocol);
}

/** Whether the offer's active audio streams are all secure RTP: a phone set to mandatory SRTP. */
export function offersOnlySrtp(sdp: SessionDescription): boolean {
  const audio = sdp.media.filter((media) => media.media === 'audio' && media.port !== 0);
  return audio.length > 0 && audio.every((media) => isSecureProfile(media.protocol));
}

const ANSWER_DIRECTION: Record<MediaDirection, MediaDirection> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

interface ChosenStream {
  index: number;
  media: SdpMedia;
  connection: SdpConnection;
  codec: { name: G711Codec; payloadType: number };
  telephoneEventPayloadType: number | undefined;
  /** The offer's a=crypto line we took, for an RTP/SAVP stream. */
  crypto?: SdesCrypto;
}

interface Refused {
  reason: string;
  /** The first secure stream's refusal when it was about its security. */
  srtp?: SrtpRefusal;
}

/** The offer's first a=crypto line we can honour, or why none is. */
function chooseCrypto(media: SdpMedia, index: number): SdesCrypto | string {
  if (media.crypto.length === 0) return `audio stream ${index} is RTP/SAVP without an a=crypto line`;
  const refusals: string[] = [];
  for (const line of media.crypto) {
    const parsed = parseSdesCrypto(line);
    if (parsed.ok) return parsed.crypto;
    refusals.push(parsed.reason);
  }
  return `audio stream ${index}: no usable a=crypto line (${refusals.join('; ')}); the IVR speaks AES_CM_128_HMAC_SHA1_80 and _32, one inline key, no MKI`;
}

/** Why a secure stream cannot be taken before its codecs are looked at; undefined when it can. */
function secureProfileRefusal(protocol: string, sdes: boolean): { kind: SrtpRefusal; reason: string } | undefined {
  if (/^UDP\/TLS\/RTP\/SAVPF?$/i.test(protocol)) return { kind: 'dtls', reason: `${protocol} is DTLS-SRTP; the IVR speaks SDES-SRTP (RTP/SAVP with a=crypto) only` };
  if (protocol === 'RTP/SAVPF') return { kind: 'savpf', reason: 'RTP/SAVPF is not supported; the IVR speaks SDES-SRTP as RTP/SAVP' };
  if (protocol === SDES_PROFILE && !sdes) return { kind: 'needs-tls', reason: 'SDES-SRTP needs SIP over TLS (its keys travel in the SDP)' };
  return undefined;
}

/** Picks the first audio stream with a codec we speak; codecs in the order the offerer prefers. */
function chooseStream(sdp: SessionDescription, codecs: readonly G711Codec[], sdes = false): ChosenStream | Refused {
  const audio = sdp.media.map((media, index) => ({ media, index })).filter(({ media }) => media.media === 'audio' && media.port !== 0);
  if (audio.length === 0) return { reason: 'the offer has no active audio stream' };
  const reasons: string[] = [];
  let srtp: SrtpRefusal | undefined;
  for (const { media, index } of audio) {
    let crypto: SdesCrypto | undefined;
    if (isSecureProfile(media.protocol)) {
      const refusal = secureProfileRefusal(media.protocol, sdes);
      const chosen = refusal ? refusal.reason : media.protocol === SDES_PROFILE ? chooseCrypto(media, index) : `audio stream ${index} uses ${media.protocol}`;
      if (typeof chosen === 'string') {
        reasons.push(refusal ? `audio stream ${index} is ${media.protocol}: ${chosen}` : chosen);
        srtp ??= refusal?.kind ?? 'crypto';
        continue;
      }
      crypto = chosen;
    } else if (!RTP_PROFILES.has(media.protocol)) {
      reasons.push(`audio stream ${index} uses ${media.protocol}; the IVR speaks RTP/AVP, and SDES-SRTP over TLS`);
      continue;
    }
    const connection = media.connection ?? sdp.connection;
    if (!connection) {
      reasons.push(`audio stream ${index} has no connection address ("c=")`);
      continue;
    }
    const payloadType = media.payloadTypes.find((pt) => {
      const codec = g711CodecOf(media, pt);
      return codec !== undefined && codecs.includes(codec);
    });
    if (payloadType === undefined) {
      reasons.push(`no common codec: audio stream ${index} offers ${describeFormats(media) || 'nothing'}, the IVR speaks ${codecs.join(' and ')}`);
      continue;
    }
    const name = g711CodecOf(media, payloadType) as G711Codec;
    return { index, media, connection, codec: { name, payloadType }, telephoneEventPayloadType: telephoneEventPtOf(media), ...(crypto ? { crypto } : {}) };
  }
  return { reason: reasons.join('; '), ...(srtp && offersOnlySrtp(sdp) ? { srtp } : {}) };
}

function isChosen(result: ChosenStream | Refused): result is ChosenStream {
  return 'media' in result;
}

export interface LocalMediaOptions {
  /** The address the peer sends RTP to (our RTP socket's address as the peer can reach it). */
  localAddress: string;
  localPort: number;
  /** o= session id and version; the caller keeps them so a later re-offer can increment the version. */
  sessionId: string | number;
  sessionVersion: string | number;
  /** Codecs we accept, in our preference order when we make the offer. Default PCMU then PCMA. */
  codecs?: readonly G711Codec[];
  /**
   * Accept SDES-SRTP (RTP/SAVP with a=crypto). Only for an offer that came over TLS: the keys
   * travel in the SDP, and over UDP or TCP anyone on the path would read them.
   */
  sdes?: boolean;
  /** Our SRTP master key for the answer; default a fresh random one. A re-INVITE keeps the call's. */
  localSrtpKey?: SrtpMasterKey;
}

function addressTypeOf(address: string): 'IP4' | 'IP6' {
  return address.includes(':') ? 'IP6' : 'IP4';
}

function sessionHeader(opts: LocalMediaOptions): string[] {
  const type = addressTypeOf(opts.localAddress);
  return [
    'v=0',
    `o=hotdesk ${opts.sessionId} ${opts.sessionVersion} IN ${type} ${opts.localAddress}`,
    's=hotdesk IVR',
    `c=IN ${type} ${opts.localAddress}`,
    't=0 0',
  ];
}

function toBody(lines: string[]): string {
  return lines.join('\r\n') + '\r\n';
}

/**
 * Answers an offer (RFC 3264): one accepted audio stream, every other stream rejected with port 0.
 * An RTP/SAVP stream (with `opts.sdes`) is answered RTP/SAVP with one a=crypto line: the tag and
 * suite of the first offered line we can honour, and our own key.
 */
export function answerOffer(offerText: string, opts: LocalMediaOptions): AnswerResult {
  const parsed = parseSdp(offerText);
  if (!parsed.ok) return { ok: false, reason: `unreadable offer: ${parsed.reason}` };
  const sdp = parsed.sdp;
  const chosen = chooseStream(sdp, opts.codecs ?? ['PCMU', 'PCMA'], opts.sdes ?? false);
  if (!isChosen(chosen)) return { ok: false, ...chosen };
  const srtp: NegotiatedSrtp | undefined = chosen.crypto
    ? {
        suite: chosen.crypto.suite,
        tag: chosen.crypto.tag,
        remote: chosen.crypto.master,
        ...(chosen.crypto.lifetime !== undefined ? { remoteLifetime: chosen.crypto.lifetime } : {}),
        local: opts.localSrtpKey ?? newSrtpMasterKey(),
      }
    : undefined;

  const direction = ANSWER_DIRECTION[chosen.media.direction ?? sdp.direction ?? 'sendrecv'];
  const lines = sessionHeader(opts);
  sdp.media.forEach((media, index) => {
    if (index !== chosen.index) {
      lines.push(`m=${media.media} 0 ${media.protocol} ${media.formats.join(' ')}`);
      return;
    }
    const { codec, telephoneEventPayloadType: te } = chosen;
    const formats = te === undefined ? [codec.payloadType] : [codec.payloadType, te];
    lines.push(`m=audio ${opts.localPort} ${media.protocol} ${formats.join(' ')}`);
    lines.push(`a=rtpmap:${codec.payloadType} ${codec.name}/8000`);
    if (te !== undefined) {
      lines.push(`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} ${TELEPHONE_EVENTS}`);
    }
    if (srtp) lines.push(`a=crypto:${formatSdesCrypto(srtp.tag, srtp.suite, srtp.local)}`);
    lines.push(`a=ptime:${PTIME_MS}`, `a=${direction}`);
  });

  const negotiated: NegotiatedMedia = {
    remote: { address: chosen.connection.address, port: chosen.media.port },
    codec: chosen.codec,
    direction,
    ...(srtp ? { srtp } : {}),
  };
  if (chosen.telephoneEventPayloadType !== undefined) negotiated.telephoneEventPayloadType = chosen.telephoneEventPayloadType;
  return { ok: true, media: negotiated, sdp: toBody(lines) };
}

/** Our own offer, for an INVITE that came without SDP: the peer answers in its ACK. */
export function buildOffer(opts: LocalMediaOptions & { telephoneEventPayloadType?: number }): string {
  const codecs = opts.codecs ?? ['PCMU', 'PCMA'];
  const te = opts.telephoneEventPayloadType ?? DEFAULT_TELEPHONE_EVENT_PT;
  const pts = codecs.map((c) => (c === 'PCMU' ? 0 : 8));
  const lines = sessionHeader(opts);
  lines.push(`m=audio ${opts.localPort} RTP/AVP ${[...pts, te].join(' ')}`);
  codecs.forEach((codec, i) => lines.push(`a=rtpmap:${pts[i]} ${codec}/8000`));
  lines.push(`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} ${TELEPHONE_EVENTS}`, `a=ptime:${PTIME_MS}`, 'a=sendrecv');
  return toBody(lines);
}

/** Reads the peer's answer to buildOffer(): the first codec it kept is the one both sides use. */
export function acceptAnswer(answerText: string, codecs: readonly G711Codec[] = ['PCMU', 'PCMA']): AcceptResult {
  const parsed = parseSdp(answerText);
  if (!parsed.ok) return { ok: false, reason: `unreadable answer: ${parsed.reason}` };
  const chosen = chooseStream(parsed.sdp, codecs);
  if (!isChosen(chosen)) return { ok: false, reason: chosen.reason };
  const theirs = chosen.media.direction ?? parsed.sdp.direction ?? 'sendrecv';
  const negotiated: NegotiatedMedia = {
    remote: { address: chosen.connection.address, port: chosen.media.port },
    codec: chosen.codec,
    direction: ANSWER_DIRECTION[theirs],
  };
  if (chosen.telephoneEventPayloadType !== undefined) negotiated.telephoneEventPayloadType = chosen.telephoneEventPayloadType;
  return { ok: true, media: negotiated };
}
