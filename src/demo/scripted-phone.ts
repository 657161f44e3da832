import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { encodeTelephoneEvent, eventOfDtmfKey, isDtmfKey } from '../media/dtmf.ts';
import { encodeRtpPacket } from '../media/rtp-packet.ts';
import { acceptAnswer, buildOffer } from '../media/sdp.ts';
import { getHeader, getHeaders, type SipRequest, type SipResponse } from '../sip/message.ts';
import { tagOf, tryParseNameAddr } from '../sip/name-addr.ts';
import { SipProxy, randomTag } from '../sip/proxy.ts';
import type { IncomingRequest, ServerResponse } from '../sip/request-context.ts';
import type { SipAddress } from '../sip/transport.ts';
import { sendRequest } from '../sip/uac.ts';
import { answer } from '../sip/uas.ts';

export interface ScriptedPhoneOptions {
  /** The SIP account it uses (the desk's idle account, e.g. HD0002). */
  identity: string;
  domain: string;
  /** The edge it registers and calls through (its outbound proxy). */
  edge: { host: string; port: number };
  /** Address it listens on; default 127.0.0.1 (the demo), 0.0.0.0 in a network namespace of its own. */
  host?: string;
  /** SIP transport towards the edge; default udp. Over TCP it keeps one connection, its flow. */
  transport?: 'udp' | 'tcp';
}

/** A call that reached the phone, which answered it. */
export interface IncomingCall {
  uri: string;
  from: string;
  /** Where it came from: over TCP, the connection the phone opened to the edge. */
  source: SipAddress;
  /** Resolves once the caller hung up (BYE), false when no BYE came within `timeoutMs`. */
  ended(timeoutMs: number): Promise<boolean>;
}

/** A call to a number at the PBX, answered and then hung up by the phone. */
export interface PlainCallResult {
  status: number;
  reason: string;
  /** The answer to the phone's BYE; absent when the call was not answered. */
  byeStatus?: number;
}

export interface CallResult {
  status: number;
  reason: string;
  /** RTP packets of the prompts the phone heard. */
  promptPackets: number;
  /** Whether the edge hung up with BYE after the flow. */
  hungUpByEdge: boolean;
}

const DTMF_PT_DEFAULT = 101;

/**
 * A desk phone driven by a script, for the demo: registers through the edge, dials a feature
 * code, sends the PIN as RFC 4733 telephone-events, and answers NOTIFY and BYE like a phone.
 */
export class ScriptedPhone {
  readonly #opts: ScriptedPhoneOptions;
  readonly #ua: SipProxy;
  /** The account it registered last: a login moves the desk from its idle account to the user's extension. */
  #identity: string;
  readonly notifies: SipRequest[] = [];
  readonly incomingCalls: IncomingCall[] = [];
  readonly #byeWaiters = new Map<string, () => void>();
  readonly #notifyWaiters: Array<(req: SipRequest) => void> = [];

  private constructor(opts: ScriptedPhoneOptions, ua: SipProxy) {
    this.#opts = opts;
    this.#ua = ua;
    this.#identity = opts.identity;
    ua.on('request', (req, res) => {
      if (req.method === 'NOTIFY') {
        this.notifies.push(req.message);
        for (const w of this.#notifyWaiters.splice(0)) w(req.message);
      }
      if (req.method === 'BYE') this.#byeWaiters.get(req.callId)?.();
      if (req.method === 'INVITE') return this.#answerCall(req, res);
      res.send(200);
    });
  }

  static async start(opts: ScriptedPhoneOptions): Promise<ScriptedPhone> {
    const tcp = opts.transport === 'tcp';
    const ua = new SipProxy({ host: opts.host ?? '127.0.0.1', udpPort: tcp ? false : 0, tcpPort: tcp ? 0 : false });
    await ua.listen();
    return new ScriptedPhone(opts, ua);
  }

  get #transport(): 'udp' | 'tcp' {
    return this.#opts.transport ?? 'udp';
  }

  get #edge(): SipAddress {
    return { transport: this.#transport, address: this.#opts.edge.host, port: this.#opts.edge.port };
  }

  /** Answers a call at once, as a phone picked up, with its own (silent) media address in the SDP. */
  #answerCall(req: IncomingRequest, res: ServerResponse): void {
    const sdp = buildOffer({ localAddress: this.#mediaHost, localPort: 40_000, sessionId: Date.now(), sessionVersion: 1 });
    const dialog = answer(this.#ua, req, res, { body: sdp, contactUser: this.#identity });
    const bye = new Promise<void>((resolve) => dialog.once('bye', () => resolve()));
    this.incomingCalls.push({
      uri: req.message.uri,
      from: getHeader(req.message, 'from') ?? '',
      source: req.source,
      ended: (timeoutMs) => Promise.race([bye.then(() => true), sleep(timeoutMs).then(() => false)]),
    });
  }

  get #aor(): string {
    return `sip:${this.#identity}@${this.#opts.domain}`;
  }

  /** Where its RTP socket listens and what its SDP offers: its own address, as a phone on a LAN does. */
  get #mediaHost(): string {
    const host = this.#opts.host ?? '127.0.0.1';
    return host === '0.0.0.0' ? '127.0.0.1' : host;
  }

  /** Registers `identity` (the idle account unless told otherwise); later calls come from the account registered last. */
  async register(expiresSeconds = 3600, identity = this.#identity): Promise<SipResponse> {
    const aor = `sip:${identity}@${this.#opts.domain}`;
    const answer = await sendRequest(this.#ua, {
      method: 'REGISTER',
      uri: `sip:${this.#opts.domain}`,
      from: `<${aor}>`,
      to: `<${aor}>`,
      headers: [['contact', `<${this.#ua.localUri(this.#transport, identity)}>;expires=${expiresSeconds}`], ['expires', String(expiresSeconds)]],
      destination: { host: this.#opts.edge.host, port: this.#opts.edge.port, transport: this.#transport },
    });
    if (answer.status >= 200 && answer.status < 300) this.#identity = identity;
    return answer;
  }

  /** Resolves with the next check-sync NOTIFY (or one already received). */
  nextNotify(timeoutMs: number): Promise<SipRequest | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#notifyWaiters.push((req) => {
        clearTimeout(timer);
        resolve(req);
      });
    });
  }

  /** Dials `number`, keys `digits` (e.g. "1357#") once the prompt plays, and waits for the edge to hang up. */
  async dial(number: string, digits: string, opts: { timeoutMs?: number } = {}): Promise<CallResult> {
    const rtp = createSocket('udp4');
    rtp.bind(0, this.#mediaHost);
    await once(rtp, 'listening');
    let promptPackets = 0;
    let firstPrompt: () => void = () => undefined;
    const promptStarted = new Promise<void>((r) => (firstPrompt = r));
    rtp.on('message', (msg) => {
      if (msg.length > 12 && (msg[1]! & 0x7f) <= 8) {
        promptPackets++;
        firstPrompt();
      }
    });
    const invite = this.#invite(number, rtp.address().port);
    const callId = getHeader(invite, 'call-id')!;
    const hungUp = new Promise<boolean>((resolve) => {
      this.#byeWaiters.set(callId, () => resolve(true));
      setTimeout(() => resolve(false), opts.timeoutMs ?? 30_000).unref();
    });
    try {
      const final = await this.#ua.request(invite, this.#edge);
      if (final.status < 200 || final.status >= 300) return { status: final.status, reason: final.reason, promptPackets, hungUpByEdge: false };
      await this.#ack(invite, final);
      const media = acceptAnswer(final.body.toString('utf8'));
      if (!media.ok) throw new Error(`the edge's SDP answer is unusable: ${media.reason}`);
      // Like any phone, it starts its own RTP once answered: the edge sends prompts only to where that comes from.
      await new Promise<void>((resolve) => rtp.send(encodeRtpPacket({ marker: true, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: randomBytes(4).readUInt32BE(0), payload: Buffer.alloc(160, 0xff) }), media.media.remote.port, media.media.remote.address, () => resolve()));
      await Promise.race([promptStarted, new Promise((r) => setTimeout(r, 3_000))]);
      await sendDigits(rtp, media.media.remote, media.media.telephoneEventPayloadType ?? DTMF_PT_DEFAULT, digits);
      const byEdge = await hungUp;
      return { status: final.status, reason: final.reason, promptPackets, hungUpByEdge: byEdge };
    } finally {
      this.#byeWaiters.delete(callId);
      rtp.close();
    }
  }

  /**
   * Calls `number` at the PBX through the edge; once answered, ACKs, holds the call for `holdMs`
   * and hangs up with BYE along the dialog's route set. Signalling only: no media is sent.
   */
  async call(number: string, holdMs: number): Promise<PlainCallResult> {
    const rtp = createSocket('udp4');
    rtp.bind(0, this.#mediaHost);
    await once(rtp, 'listening');
    try {
      const invite = this.#invite(number, rtp.address().port);
      const final = await this.#ua.request(invite, this.#edge);
      if (final.status < 200 || final.status >= 300) return { status: final.status, reason: final.reason };
      await this.#ack(invite, final);
      await sleep(holdMs);
      const bye = await this.#ua.request(this.#inDialog('BYE', 2, invite, final), this.#edge);
      return { status: final.status, reason: final.reason, byeStatus: bye.status };
    } finally {
      rtp.close();
    }
  }

  #invite(number: string, mediaPort: number): SipRequest {
    const callId = `${randomBytes(10).toString('hex')}@demo-phone`;
    const fromTag = randomTag();
    const offer = buildOffer({ localAddress: this.#mediaHost, localPort: mediaPort, sessionId: Date.now(), sessionVersion: 1 });
    return {
      kind: 'request',
      method: 'INVITE',
      uri: `sip:${number}@${this.#opts.domain}`,
      version: 'SIP/2.0',
      headers: [
        ['via', this.#ua.localVia(this.#transport)],
        ['max-forwards', '70'],
        ['from', `<${this.#aor}>;tag=${fromTag}`],
        ['to', `<sip:${number}@${this.#opts.domain}>`],
        ['call-id', callId],
        ['cseq', '1 INVITE'],
        ['contact', `<${this.#ua.localUri(this.#transport, this.#opts.identity)}>`],
        ['content-type', 'application/sdp'],
      ].map(([name, value]) => ({ name: name!, value: value! })),
      body: Buffer.from(offer),
    };
  }

  /** ACK for the 2xx goes end to end: to the answerer's Contact, along the Record-Route set. */
  async #ack(invite: SipRequest, ok: SipResponse): Promise<void> {
    await this.#ua.sendStateless(this.#inDialog('ACK', 1, invite, ok), this.#edge);
  }

  /** A request within the dialog the 2xx set up: to the answerer's Contact, along the Record-Route set. */
  #inDialog(method: string, cseq: number, invite: SipRequest, ok: SipResponse): SipRequest {
    const contact = tryParseNameAddr(getHeader(ok, 'contact'));
    const routes = getHeaders(ok, 'record-route').reverse();
    return {
      kind: 'request',
      method,
      uri: contact ? getHeader(ok, 'contact')!.replace(/^.*<([^>]+)>.*$/, '$1') : invite.uri,
      version: 'SIP/2.0',
      headers: [
        { name: 'via', value: this.#ua.localVia(this.#transport) },
        { name: 'max-forwards', value: '70' },
        ...routes.map((value) => ({ name: 'route', value })),
        { name: 'from', value: getHeader(invite, 'from')! },
        { name: 'to', value: `${getHeader(invite, 'to')!};tag=${tagOf(getHeader(ok, 'to')) ?? ''}` },
        { name: 'call-id', value: getHeader(invite, 'call-id')! },
        { name: 'cseq', value: `${cseq} ${method}` },
      ],
      body: Buffer.alloc(0),
    };
  }

  async stop(): Promise<void> {
    await this.#ua.close();
  }
}

/** Each key as RFC 4733 events: a start, an update and three redundant end packets, as phones send. */
async function sendDigits(rtp: Socket, remote: { address: string; port: number }, pt: number, digits: string): Promise<void> {
  const ssrc = randomBytes(4).readUInt32BE(0);
  let seq = Math.floor(Math.random() * 1000);
  let timestamp = Math.floor(Math.random() * 100_000);
  const send = (payload: Buffer, marker: boolean) =>
    new Promise<void>((resolve) => rtp.send(encodeRtpPacket({ marker, payloadType: pt, sequenceNumber: seq++, timestamp, ssrc, payload }), remote.port, remote.address, () => resolve()));
  for (const key of digits) {
    if (!isDtmfKey(key)) throw new Error(`not a DTMF key: ${key}`);
    const event = eventOfDtmfKey(key);
    await send(encodeTelephoneEvent({ event, end: false, volume: 10, duration: 160 }), true);
    await sleep(20);
    await send(encodeTelephoneEvent({ event, end: false, volume: 10, duration: 480 }), false);
    await sleep(20);
    for (let i = 0; i < 3; i++) await send(encodeTelephoneEvent({ event, end: true, volume: 10, duration: 800 }), false);
    timestamp += 1_600;
    await sleep(80);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
