/**
 * A local UAS dialog (RFC 3261 §12, §13.3): answer an INVITE with a To-tag, Contact and SDP,
 * retransmit the 2xx over UDP until the ACK arrives, receive INFO/BYE inside the dialog and
 * send BYE (or another request) to the caller. Used by the edge for its IVR, which starts only
 * once the ACK came (waitForAck); a dialog never ACKed ends quietly.
 */
import { EventEmitter } from 'node:events';
import { getHeader, getHeaders, type SipRequest, type SipResponse } from './message.ts';
import { tryParseNameAddr } from './name-addr.ts';
import type { SipProxy, LocalDialogEndpoint } from './proxy.ts';
import type { IncomingRequest, ServerResponse } from './request-context.ts';
import { destinationOfUri } from './routing.ts';
import type { SipAddress, TransportProtocol } from './transport.ts';

export interface AnswerOptions {
  /** Default 200. */
  status?: number;
  body?: string | Buffer;
  /** Default `application/sdp` when there is a body. */
  contentType?: string;
  headers?: Array<[string, string]>;
  /** User part of our Contact, default `edge`. */
  contactUser?: string;
}

export interface DialogRequestOptions {
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  contentType?: string;
}

export type DialogEndReason = 'bye-received' | 'bye-sent' | 'ack-timeout';

interface DialogEvents {
  ack: [];
  /** The caller hung up (we already answered 200). */
  bye: [IncomingRequest];
  /** INFO inside the dialog (DTMF via SIP INFO); answer with res.send. Without a listener: 200. */
  info: [IncomingRequest, ServerResponse];
  /**
   * A re-INVITE (hold, resume, session refresh) with its offer, or none (we then offer). Answer
   * with dialog.acceptReinvite or res.send (e.g. 488). Without a listener: 200 with the SDP we
   * answered the INVITE with, unchanged (RFC 3264 section 8), or 488 when we sent none.
   */
  reinvite: [IncomingRequest, ServerResponse];
  /** Any other in-dialog request; answer with res.send. Without a listener: 501. */
  request: [IncomingRequest, ServerResponse];
  terminated: [DialogEndReason];
}

export class UasDialog extends EventEmitter<DialogEvents> implements LocalDialogEndpoint {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string | undefined;
  /** Where in-dialog requests go: the caller's Contact. */
  readonly remoteTarget: string;
  /** Record-Route of the INVITE, in order (a UAS uses it as is). */
  readonly routeSet: string[];
  /**
   * Where the INVITE came from. Without a route set, in-dialog requests go there rather than to
   * the Contact's host and port: a phone behind NAT writes its LAN address in Contact, and only
   * its NAT's mapping (the flow its INVITE came on) reaches it, as with the check-sync NOTIFY.
   */
  readonly #flow: SipAddress | undefined;
  readonly #proxy: SipProxy;
  readonly #localUri: string;
  readonly #remoteUri: string;
  readonly #transport: TransportProtocol;
  readonly #contact: string;
  #localSeq = 0;
  #acked = false;
  #ended = false;
  #retransmitTimer: NodeJS.Timeout | undefined;
  #ackWaiters: Array<(acked: boolean) => void> = [];
  /** Our last session description and its type: re-INVITEs are answered with it by default. */
  #localBody: { body: string | Buffer; contentType: string } | undefined;
  /** The 2xx to a re-INVITE, retransmitted until its ACK (matched by CSeq number) arrives. */
  #reinvite: { cseq: number; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(proxy: SipProxy, invite: SipRequest, localTag: string, transport: TransportProtocol, contact: string, flow?: SipAddress) {
    super();
    this.#proxy = proxy;
    this.callId = getHeader(invite, 'call-id') ?? '';
    this.localTag = localTag;
    const from = tryParseNameAddr(getHeader(invite, 'from'));
    const tag = from?.params['tag'];
    this.remoteTag = tag === null ? undefined : tag;
    this.#remoteUri = getHeader(invite, 'from') ?? '';
    const to = getHeader(invite, 'to') ?? '';
    this.#localUri = tryParseNameAddr(to)?.params['tag'] !== undefined ? to : `${to};tag=${localTag}`;
    const contactHeader = tryParseNameAddr(getHeader(invite, 'contact'));
    this.remoteTarget = contactHeader ? getHeader(invite, 'contact')!.replace(/^[^<]*<([^>]*)>.*$/s, '$1') : invite.uri;
    this.routeSet = getHeaders(invite, 'record-route');
    this.#transport = transport;
    this.#contact = contact;
    this.#flow = flow;
  }

  get acknowledged(): boolean {
    return this.#acked;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves true once the ACK for our 2xx arrived, false if it never will. */
  waitForAck(): Promise<boolean> {
    if (this.#acked) return Promise.resolve(true);
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => this.#ackWaiters.push(resolve));
  }

  /** Hangs up: sends BYE and resolves with its final response. */
  async bye(): Promise<SipResponse> {
    this.#end('bye-sent');
    return this.#sendRequest('BYE', {});
  }

  /** Sends an in-dialog request (e.g. INFO) and resolves with its final response. */
  request(method: string, options: DialogRequestOptions = {}): Promise<SipResponse> {
    return this.#sendRequest(method.toUpperCase(), options);
  }

  /** What a re-INVITE without a listener is answered with; set by answer() from its body. */
  setLocalBody(body: string | Buffer, contentType: string): void {
    this.#localBody = { body, contentType };
  }

  /**
   * Answers a re-INVITE with 200 and our (new) session description; over UDP the 2xx is
   * retransmitted until the ACK arrives (RFC 3261 13.3.1.4), as for the first INVITE.
   */
  acceptReinvite(req: IncomingRequest, res: ServerResponse, body: string | Buffer, contentType = 'application/sdp'): void {
    this.#localBody = { body, contentType };
    const response = res.send(200, { headers: [['contact', this.#contact], ['content-type', contentType]], body });
    if (response === undefined) return;
    this.#stopReinviteRetransmit();
    const cseq = Number.parseInt(getHeader(req.message, 'cseq') ?? '', 10);
    if (req.source.transport !== 'udp' || !Number.isFinite(cseq)) return;
    const { t1, t2 } = this.#proxy.timers;
    const deadline = Date.now() + 64 * t1;
    const pending: { cseq: number; timer: NodeJS.Timeout | undefined } = { cseq, timer: undefined };
    const tick = (interval: number): void => {
      pending.timer = setTimeout(() => {
        if (this.#reinvite !== pending || this.#ended || Date.now() >= deadline) return;
        res.transaction?.respond(response);
        tick(Math.min(interval * 2, t2));
      }, interval);
      pending.timer.unref();
    };
    this.#reinvite = pending;
    tick(t1);
  }

  /** @internal called by the core for requests matching this dialog. */
  receiveRequest(req: IncomingRequest, res: ServerResponse): void {
    switch (req.method) {
      case 'INVITE':
        if (this.listenerCount('reinvite') > 0) this.emit('reinvite', req, res);
        else if (this.#localBody) this.acceptReinvite(req, res, this.#localBody.body, this.#localBody.contentType);
        else res.send(488, { reason: 'Not Acceptable Here' });
        return;
      case 'BYE':
        res.send(200);
        this.#end('bye-received');
        this.emit('bye', req);
        return;
      case 'INFO':
        if (this.listenerCount('info') > 0) this.emit('info', req, res);
        else res.send(200);
        return;
      default:
        if (this.listenerCount('request') > 0) this.emit('request', req, res);
        else res.send(req.method === 'OPTIONS' ? 200 : 501);
    }
  }

  /** @internal */
  receiveAck(ack?: SipRequest): void {
    const cseq = ack === undefined ? Number.NaN : Number.parseInt(getHeader(ack, 'cseq') ?? '', 10);
    if (this.#reinvite !== undefined && cseq === this.#reinvite.cseq) this.#stopReinviteRetransmit();
    if (this.#acked) return;
    this.#acked = true;
    this.#stopRetransmitting();
    for (const waiter of this.#ackWaiters.splice(0)) waiter(true);
    this.emit('ack');
  }

  /** @internal retransmits the 2xx over UDP with T1 doubling to T2 until ACK (§13.3.1.4). */
  startRetransmitting(res: ServerResponse, response: SipResponse, reliable: boolean): void {
    const { t1, t2 } = this.#proxy.timers;
    const deadline = Date.now() + 64 * t1;
    const tick = (interval: number): void => {
      this.#retransmitTimer = setTimeout(() => {
        if (this.#acked || this.#ended) return;
        if (Date.now() >= deadline) {
          // No BYE (RFC 3261 13.3.1.4 says SHOULD): the caller never confirmed the call, and a BYE
          // would go to whatever Contact its INVITE named, with retransmissions: a reflection
          // towards an address that never spoke to us. A real phone learns with a 481.
          for (const waiter of this.#ackWaiters.splice(0)) waiter(false);
          this.#end('ack-timeout');
          return;
        }
        if (!reliable) res.transaction?.respond(response);
        tick(reliable ? deadline - Date.now() : Math.min(interval * 2, t2));
      }, reliable ? 64 * t1 : interval);
    };
    tick(t1);
  }

  #stopRetransmitting(): void {
    if (this.#retransmitTimer !== undefined) clearTimeout(this.#retransmitTimer);
    this.#retransmitTimer = undefined;
  }

  #stopReinviteRetransmit(): void {
    if (this.#reinvite?.timer !== undefined) clearTimeout(this.#reinvite.timer);
    this.#reinvite = undefined;
  }

  #end(reason: DialogEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopRetransmitting();
    this.#stopReinviteRetransmit();
    for (const waiter of this.#ackWaiters.splice(0)) waiter(this.#acked);
    // Stay registered briefly so a retransmitted BYE or late ACK still matches.
    setTimeout(() => this.#proxy.unregisterDialog(this.callId, this.localTag), 64 * this.#proxy.timers.t1).unref();
    this.emit('terminated', reason);
  }

  #firstHop(): SipAddress | undefined {
    const first = this.routeSet[0];
    if (first === undefined && this.#flow) return this.#flow;
    const target = tryParseNameAddr(first ?? `<${this.remoteTarget}>`);
    if (target === undefined) return undefined;
    const hop = destinationOfUri(target.uri);
    return { ...hop, transport: hop.transport === 'udp' && this.#transport !== 'udp' && first === undefined ? this.#transport : hop.transport };
  }

  #sendRequest(method: string, options: DialogRequestOptions): Promise<SipResponse> {
    const destination = this.#firstHop();
    if (destination === undefined) return Promise.reject(new Error('dialog has no usable remote target'));
    const headers: Array<[string, string]> = [
      ['via', this.#proxy.localVia(destination.transport, undefined, destination)],
      ['max-forwards', '70'],
      ...this.routeSet.map((r): [string, string] => ['route', r]),
      ['from', this.#localUri],
      ['to', this.#remoteUri],
      ['call-id', this.callId],
      ['cseq', `${++this.#localSeq} ${method}`],
      ['contact', this.#contact],
      ...(options.headers ?? []),
    ];
    if (options.body !== undefined) headers.push(['content-type', options.contentType ?? 'application/octet-stream']);
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
    const request: SipRequest = { kind: 'request', method, uri: this.remoteTarget, version: 'SIP/2.0', headers: headers.map(([name, value]) => ({ name, value })), body };
    return this.#proxy.request(request, destination);
  }
}

/**
 * Answers `req` locally and returns the dialog. The caller's ACK, BYE and INFO then go to the
 * dialog's events. Must be called before any final response was sent for `req`.
 */
export function answer(proxy: SipProxy, req: IncomingRequest, res: ServerResponse, options: AnswerOptions = {}): UasDialog {
  const transport = req.source.transport;
  const contact = `<${proxy.localUri(transport, options.contactUser ?? 'edge', '', req.source)}>`;
  const dialog = new UasDialog(proxy, req.message, res.toTag, transport, contact, req.source);
  proxy.registerDialog(dialog.callId, dialog.localTag, dialog);
  if (options.body !== undefined) dialog.setLocalBody(options.body, options.contentType ?? 'application/sdp');
  const headers: Array<[string, string]> = getHeaders(req.message, 'record-route').map((rr): [string, string] => ['record-route', rr]);
  headers.push(['contact', contact]);
  if (options.body !== undefined) headers.push(['content-type', options.contentType ?? 'application/sdp']);
  headers.push(...(options.headers ?? []));
  const response = res.send(options.status ?? 200, { headers, body: options.body });
  if (response === undefined) {
    proxy.unregisterDialog(dialog.callId, dialog.localTag);
    throw new Error('cannot answer: a final response was already sent');
  }
  if (req.method === 'INVITE') dialog.startRetransmitting(res, response, transport !== 'udp');
  return dialog;
}
