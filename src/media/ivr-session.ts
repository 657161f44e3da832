/**
 * The media half of one IVR call, independent of SIP: plays prompts to the caller and collects the
 * keys they press, from RFC 4733 telephone-events on RTP or from SIP INFO requests the dialog hands
 * in. The SIP side opens it (answering the offer), starts playing only once the call is confirmed
 * (ACK), drives it, and closes it on BYE.
 *
 * Prompts go only to where the caller's RTP comes from (see rtp-session.ts), within a packet budget
 * per call. With SDES-SRTP negotiated, both directions are SRTP (srtp-transform.ts), and only
 * packets that authenticate count as the caller's. A prompt always plays to its end: keys pressed while it plays are held and count only
 * once it is over, so no entry (and no PIN guess) goes faster than the prompts that ask for it.
 */
import { DtmfEventAccumulator, isDtmfKey, type DtmfKey } from './dtmf.ts';
import { PinCollector, type CollectOptions, type CollectResult } from './pin-collector.ts';
import type { PromptName, PromptSet } from './prompts.ts';
import { RtpSession, type RtpEndpoint, type RtpPortSource } from './rtp-session.ts';
import { answerOffer, type G711Codec, type NegotiatedMedia, type NegotiatedSrtp, type SrtpRefusal } from './sdp.ts';
import { SrtpTransform } from './srtp-transform.ts';
import type { RtpPacket } from './rtp-packet.ts';
import { lawForPayloadType, silenceByte, type G711Law } from './g711.ts';

const LAW_OF_CODEC: Record<G711Codec, G711Law> = { PCMU: 'mulaw', PCMA: 'alaw' };

export class IvrSessionClosedError extends Error {
  constructor() {
    super('the IVR session was closed (caller hung up)');
    this.name = 'IvrSessionClosedError';
  }
}

/**
 * RTP packets one call may send: about 80 s of prompts, more than the longest login (the most wrong
 * PINs a pool allows, each with its two prompts) needs; the call ends when they are spent.
 */
export const IVR_PACKET_BUDGET = 4_000;

export interface IvrMedia {
  /** The negotiated voice payload type: 0 (PCMU) or 8 (PCMA), or a dynamic one mapped to `codec`. */
  codecPt: number;
  /** Needed only when codecPt is dynamic; the static types say which law they are. */
  codec?: G711Codec;
  /** The negotiated telephone-event payload type; absent when the caller sends DTMF by SIP INFO only. */
  dtmfPt?: number;
}

export interface IvrSessionOptions extends Partial<IvrMedia> {
  /** Address to bind the RTP socket to. */
  localHost: string;
  localPort?: number;
  portRange?: { min: number; max: number };
  /** Ports bound in advance to borrow one from (rtp-port-pool.ts); wins over localPort and portRange. */
  ports?: RtpPortSource;
  /** Where the call's INVITE came from: only RTP from this address is taken as the caller's (rtp-latch.ts). */
  signallingAddress?: string;
  prompts: PromptSet;
  /** Default IVR_PACKET_BUDGET. */
  packetBudget?: number;
}

interface PendingCollect {
  collector: PinCollector;
  resolve: (result: CollectResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class IvrSession {
  readonly #rtp: RtpSession;
  readonly #prompts: PromptSet;
  readonly #accumulator = new DtmfEventAccumulator();
  #media: IvrMedia | undefined;
  /** Keys pressed while no collect() was running (type-ahead), in order. */
  #typeAhead: DtmfKey[] = [];
  /** Keys pressed while a prompt plays: they count once it is over. */
  #held: DtmfKey[] = [];
  #playing = 0;
  #collecting: PendingCollect | undefined;
  #closed = false;
  #srtp: SrtpTransform | undefined;

  private constructor(rtp: RtpSession, prompts: PromptSet) {
    this.#rtp = rtp;
    this.#prompts = prompts;
    rtp.on('packet', (packet) => this.#onRtp(packet));
    // A send failure (e.g. ICMP unreachable surfacing as ECONNREFUSED) must not crash the edge;
    // the caller is gone and the dialog's BYE or timeout closes the session.
    rtp.on('error', () => undefined);
    // Spent its budget: whatever the caller does, this call has had all the media it gets.
    rtp.on('budget-spent', () => void this.close());
  }

  static async open(opts: IvrSessionOptions): Promise<IvrSession> {
    const rtp = await RtpSession.open({
      host: opts.localHost,
      ...(opts.localPort !== undefined ? { port: opts.localPort } : {}),
      ...(opts.portRange ? { portRange: opts.portRange } : {}),
      ...(opts.ports ? { ports: opts.ports } : {}),
      ...(opts.signallingAddress !== undefined ? { signallingAddress: opts.signallingAddress } : {}),
      packetBudget: opts.packetBudget ?? IVR_PACKET_BUDGET,
    });
    const session = new IvrSession(rtp, opts.prompts);
    if (opts.codecPt !== undefined) {
      session.setMedia({ codecPt: opts.codecPt, ...(opts.codec ? { codec: opts.codec } : {}), ...(opts.dtmfPt !== undefined ? { dtmfPt: opts.dtmfPt } : {}) });
    }
    return session;
  }

  /**
   * Opens a session for an INVITE's offer: binds the RTP socket, answers with its port, and sets the
   * negotiated media. On failure (no common codec) nothing stays open and the reason suits a 488.
   */
  static async answer(
    offerSdp: string,
    opts: Omit<IvrSessionOptions, keyof IvrMedia> & {
      advertisedAddress: string;
      sessionId: string | number;
      sessionVersion: string | number;
      codecs?: readonly G711Codec[];
      /** Accept SDES-SRTP: the offer came over TLS (see LocalMediaOptions.sdes). */
      sdes?: boolean;
    },
  ): Promise<{ ok: true; session: IvrSession; answerSdp: string; media: NegotiatedMedia } | { ok: false; reason: string; srtp?: SrtpRefusal }> {
    const session = await IvrSession.open(opts);
    const answer = answerOffer(offerSdp, {
      localAddress: opts.advertisedAddress,
      localPort: session.local.port,
      sessionId: opts.sessionId,
      sessionVersion: opts.sessionVersion,
      ...(opts.codecs ? { codecs: opts.codecs } : {}),
      ...(opts.sdes ? { sdes: true } : {}),
    });
    if (!answer.ok) {
      await session.close();
      return answer;
    }
    session.setMedia(mediaOf(answer.media));
    // Before the answer leaves: the caller's first packet is already SRTP.
    if (answer.media.srtp) session.setSrtp(answer.media.srtp);
    return { ok: true, session, answerSdp: answer.sdp, media: answer.media };
  }

  /** Where the caller must send RTP: the port for our SDP. */
  get local(): RtpEndpoint {
    return this.#rtp.local;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Where prompts go: the source of the caller's first RTP packet; undefined until it arrived. */
  get remote(): RtpEndpoint | undefined {
    return this.#rtp.remote;
  }

  /** RTP packets sent so far. */
  get packetsSent(): number {
    return this.#rtp.packetsSent;
  }

  /**
   * Waits (at most `timeoutMs`) for the caller's first RTP packet, so that the first prompt is heard
   * from its start. True if it came; a caller that sends no RTP still gets its keys (SIP INFO) read.
   */
  waitForCaller(timeoutMs: number): Promise<boolean> {
    return this.#rtp.waitForRemote(timeoutMs);
  }

  /**
   * Protects our RTP with our key and unprotects the caller's with theirs from now on; a re-INVITE's
   * new keys replace the old ones, a direction whose key stayed keeps its rollover counter.
   */
  setSrtp(srtp: NegotiatedSrtp): void {
    this.#srtp = new SrtpTransform(srtp, this.#srtp);
    this.#rtp.setPacketTransform(this.#srtp);
  }

  /** The call's SDES-SRTP keys, if it is secure. */
  get srtp(): NegotiatedSrtp | undefined {
    return this.#srtp?.negotiated;
  }

  /** Received datagrams dropped by SRTP so far, by reason (failed authentication, replay...). */
  get srtpDropped(): Record<string, number> {
    return this.#srtp?.dropped ?? {};
  }

  /** Sets or changes the negotiated media (late offer answered in the ACK, or a re-INVITE). */
  setMedia(media: IvrMedia): void {
    this.#media = media;
  }

  /** Plays one prompt to its end. Rejects with IvrSessionClosedError on close. */
  async play(name: PromptName): Promise<void> {
    const media = this.#requireMedia();
    const law = media.codec ? LAW_OF_CODEC[media.codec] : lawForPayloadType(media.codecPt);
    const audio = this.#prompts.audio(name, law);
    this.#playing++;
    try {
      await this.#rtp.play(audio, media.codecPt, silenceByte(law));
    } finally {
      if (--this.#playing === 0) this.#releaseHeldKeys();
    }
    if (this.#closed) throw new IvrSessionClosedError();
  }

  /**
   * Collects keys until the terminator, maxDigits or a timeout; keys pressed before the call (during
   * an earlier prompt) count, first. Rejects with IvrSessionClosedError on close.
   */
  collect(opts: CollectOptions): Promise<CollectResult> {
    if (this.#closed) return Promise.reject(new IvrSessionClosedError());
    if (this.#collecting) return Promise.reject(new Error('collect() is already running on this session'));
    const collector = new PinCollector(opts, performance.now());
    while (this.#typeAhead.length > 0 && !collector.result) collector.press(this.#typeAhead.shift() as DtmfKey, performance.now());
    if (collector.result) return Promise.resolve(collector.result);
    return new Promise((resolve, reject) => {
      this.#collecting = { collector, resolve, reject, timer: undefined };
      this.#armTimer();
    });
  }

  /** A key from a SIP INFO request (application/dtmf-relay or application/dtmf, see dtmf-info.ts). */
  injectInfoDigit(key: string): void {
    const normalised = key.toUpperCase();
    if (isDtmfKey(normalised)) this.#onKey(normalised);
  }

  /** Forgets type-ahead keys, e.g. before asking again after a wrong PIN. */
  clearDigits(): void {
    this.#typeAhead = [];
    this.#held = [];
  }

  /** Ends playback and collection (BYE or CANCEL) and releases the RTP port. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = this.#collecting;
    this.#collecting = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(new IvrSessionClosedError());
    }
    await this.#rtp.close();
  }

  #requireMedia(): IvrMedia {
    if (this.#closed) throw new IvrSessionClosedError();
    if (!this.#media) throw new Error('IVR session has no negotiated media yet (call setMedia after the SDP exchange)');
    return this.#media;
  }

  #onRtp(packet: RtpPacket): void {
    const dtmfPt = this.#media?.dtmfPt;
    if (dtmfPt === undefined || packet.payloadType !== dtmfPt) return;
    const key = this.#accumulator.push(packet);
    if (key) this.#onKey(key);
  }

  #onKey(key: DtmfKey): void {
    if (this.#closed) return;
    if (this.#playing > 0) {
      this.#held.push(key);
      return;
    }
    this.#takeKey(key);
  }

  /** The prompt is over: the keys pressed during it count now, in the order they came. */
  #releaseHeldKeys(): void {
    const held = this.#held;
    this.#held = [];
    for (const key of held) {
      if (this.#closed) return;
      this.#takeKey(key);
    }
  }

  #takeKey(key: DtmfKey): void {
    const pending = this.#collecting;
    if (!pending) {
      this.#typeAhead.push(key);
      return;
    }
    const result = pending.collector.press(key, performance.now());
    if (result) this.#settle(result);
    else this.#armTimer();
  }

  #armTimer(): void {
    const pending = this.#collecting;
    if (!pending) return;
    clearTimeout(pending.timer);
    const deadline = pending.collector.nextDeadline();
    if (deadline === undefined || deadline === Number.POSITIVE_INFINITY) return;
    pending.timer = setTimeout(() => {
      const result = pending.collector.tick(performance.now());
      if (result) this.#settle(result);
      else this.#armTimer();
    }, Math.max(0, deadline - performance.now()));
  }

  #settle(result: CollectResult): void {
    const pending = this.#collecting;
    if (!pending) return;
    this.#collecting = undefined;
    clearTimeout(pending.timer);
    pending.resolve(result);
  }
}

function mediaOf(negotiated: NegotiatedMedia): IvrMedia {
  // negotiated.remote (the address the offer names) is deliberately unused: we send only where the caller's RTP comes from.
  const media: IvrMedia = { codecPt: negotiated.codec.payloadType, codec: negotiated.codec.name };
  if (negotiated.telephoneEventPayloadType !== undefined) media.dtmfPt = negotiated.telephoneEventPayloadType;
  return media;
}
