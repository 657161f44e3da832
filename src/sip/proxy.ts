/**
 * The SIP core of the edge: transports, parsing and limits, transactions, and a stateful proxy
 * (RFC 3261 §16) with a drachtio-like handler API:
 *
 *   const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 5060, tcpPort: 5060 });
 *   proxy.on('request', (req, res) => {
 *     if (req.method === 'INVITE' && isFeatureCode(req)) return answer(proxy, req, res, {...}); // uas.ts
 *     if (!allowed(req)) return res.send(403, { reason: 'Emergency Calls Only' });
 *     return req.proxy({ destination: { host: pbx, port: 5060, transport: 'udp' } });
 *   });
 *   await proxy.listen();
 *
 * The core handles by itself: retransmissions, 100 Trying, CANCEL, ACKs for non-2xx, loose
 * routing of in-dialog requests that carry our Record-Route, responses to forwarded requests,
 * and 400 answers to malformed requests. In-dialog requests for a local dialog (uas.ts) go to
 * that dialog. Everything else reaches the 'request' handler.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../log.ts';
import { resolveLimits, SourceRateLimiter, type SipLimits } from './limits.ts';
import { messageTooLargeAnswer, overloadAnswer } from './limits-answers.ts';
import { TransactionBudget } from './limits-transactions.ts';
import { decrementMaxForwards, computeLoopHash, isLooping } from './loop-detection.ts';
import {
  appendHeader,
  cloneMessage,
  getHeader,
  prependHeader,
  removeHeader,
  replaceFirstHeader,
  setHeader,
  shiftHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import { methodLabel, type SipMetricsHook } from './metrics.ts';
import { tagOf } from './name-addr.ts';
import { isOptionsToSelf, optionsAnswer } from './options-to-self.ts';
import { parseMessage } from './parser.ts';
import type { SipParseError } from './parse-error.ts';
import { IncomingRequest, ServerResponse, type ForwardFailure, type ProxyOutcome, type ProxyRequestOptions, type ProxyTarget } from './request-context.ts';
import { buildResponse } from './response-builder.ts';
import { destinationOfUri, isOwnUri, isOwnVia, nextHop, ownRouteUsers, popOwnRoutes, topRouteIsOwn, type LocalIdentity } from './routing.ts';
import { serializeMessage } from './serializer.ts';
import { DEFAULT_TIMERS, TransactionLayer, type ClientTransaction, type ServerTransaction, type TimerSettings } from './transaction.ts';
import { StreamTransport, type FramingProblem, type TlsSettings } from './transport-tcp.ts';
import type { ConnectionRefusal } from './limits-connections.ts';
import { UdpTransport } from './transport-udp.ts';
import { viaTransportToken, type SipAddress, type SipTransport, type TransportProtocol } from './transport.ts';
import { tryParseUri, type SipUri } from './uri.ts';
import { BRANCH_MAGIC_COOKIE, newBranch, parseVia, responseTarget, serializeVia, stampReceived } from './via.ts';

export interface SipProxyOptions {
  /** Address to bind, default 127.0.0.1. */
  host?: string;
  /** Host written into our Via, Record-Route and Contact; default `host` (or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  /**
   * The host a given next hop reaches us on, when it is not `advertisedHost` (the edge faces phones
   * on one address and an in-cluster PBX on another); undefined means `advertisedHost`. Called for
   * every request we send, so it must be cheap.
   */
  advertisedHostFor?: (destination: SipAddress) => string | undefined;
  /** Every host `advertisedHostFor` may return: a Route or Via naming one of them is ours. */
  otherOwnHosts?: readonly string[];
  /** UDP port (0 = free port), or false for no UDP. Default 5060. */
  udpPort?: number | false;
  /** TCP port (0 = free port), or false for no TCP. Default 5060. */
  tcpPort?: number | false;
  /** TLS listener; absent or false for none. */
  tls?: (TlsSettings & { port: number }) | false;
  limits?: Partial<SipLimits>;
  /** Transaction timers; tests shorten T1. */
  timers?: Partial<TimerSettings>;
  metrics?: SipMetricsHook;
  logger?: Logger;
  idleConnectionTimeoutMs?: number;
  /** Sources the per-source rate limit does not apply to (the edge's own PBX). */
  rateLimitExempt?: (address: string) => boolean;
  /**
   * Called on every request about to be forwarded, in dialog or not, before the handler's own
   * header changes: the edge removes what a phone may not tell the PBX (sanitise.ts).
   */
  filterForwarded?: (forwarded: SipRequest, source: SipAddress, inDialog: boolean) => void;
  /**
   * An in-dialog request whose Routes to us carry user parts (flow tokens the edge wrote into its
   * Record-Route): a phone's flow to deliver it on, an answer to refuse it with, or undefined to
   * route it as usual (the next Route, else the Request-URI).
   */
  inDialogFlow?: (req: IncomingRequest, routeUsers: string[]) => InDialogFlowRoute | undefined;
}

/** Where an in-dialog request goes instead of its next hop (see SipProxyOptions.inDialogFlow). */
export type InDialogFlowRoute =
  | { destination: SipAddress; connection?: number }
  | { status: number; reason: string }
  | ToReplica;

/**
 * Another replica of ours holds the flow: the request goes there with its Routes untouched (that
 * replica pops them and reads the token itself), without a Record-Route of ours, and with `viaHost`
 * (this replica's own address) in our Via, since the replicas share the advertised host and a Via
 * naming it would look like the peer's own and trip its loop detection.
 */
export interface ToReplica {
  replica: SipAddress;
  viaHost: string;
}

export type RequestHandler = (req: IncomingRequest, res: ServerResponse) => void | Promise<void>;

/** A local dialog endpoint (uas.ts) that receives in-dialog requests matched by Call-ID and tag. */
export interface LocalDialogEndpoint {
  receiveRequest(req: IncomingRequest, res: ServerResponse): void;
  receiveAck(ack: SipRequest): void;
}

export class SipTimeoutError extends Error {
  constructor(method: string) {
    super(`${method} timed out without a final response`);
    this.name = 'SipTimeoutError';
  }
}

interface ForwardContext {
  client: ClientTransaction | undefined;
  forwarded: SipRequest;
  destination: SipAddress;
  cancelRequested: boolean;
  cancelSent: boolean;
  /** Timer C of a forwarded INVITE (RFC 3261 §16.6 step 11). */
  timerC: NodeJS.Timeout | undefined;
}

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);
const WHITESPACE_ONLY = /^[\r\n\t ]*$/;

export class SipProxy {
  readonly #options: SipProxyOptions;
  readonly #limits: SipLimits;
  readonly #timers: TimerSettings;
  readonly #metrics: SipMetricsHook;
  readonly #rateLimiter: SourceRateLimiter | undefined;
  readonly #transports = new Map<TransportProtocol, SipTransport>();
  readonly #bound = new Map<TransportProtocol, SipAddress>();
  readonly #handlers: RequestHandler[] = [];
  readonly #dialogs = new Map<string, LocalDialogEndpoint>();
  readonly #layer: TransactionLayer;
  readonly #advertisedHost: string;
  /**
   * Connection numbers for flows: a stream transport hands every message of one connection the same
   * source object, so the object stands for the connection and is forgotten with it.
   */
  readonly #connectionIds = new WeakMap<SipAddress, number>();
  /** Destinations that are a phone's TCP/TLS flow → the source object of that very connection. */
  readonly #flowConnections = new WeakMap<SipAddress, SipAddress>();
  #nextConnectionId = 1;
  readonly #runningTimerC = new Set<NodeJS.Timeout>();
  #identity: LocalIdentity = { hosts: new Set(), ports: new Set() };

  constructor(options: SipProxyOptions = {}) {
    this.#options = options;
    this.#limits = resolveLimits(options.limits);
    this.#timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.#metrics = options.metrics ?? {};
    const rate = this.#limits.rateLimit;
    this.#rateLimiter = rate ? new SourceRateLimiter(rate.messagesPerSecond, rate.burst) : undefined;
    const host = options.host ?? '127.0.0.1';
    this.#advertisedHost = options.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
    this.#layer = new TransactionLayer(
      { send: (message, destination) => this.#send(message, destination), isReliable: (d) => d.transport !== 'udp' },
      this.#timers,
      new TransactionBudget(this.#limits.maxTransactions, this.#limits.maxTransactionBytes, this.#limits.maxTransactionBytesPerSource),
    );
    this.#metrics.observe?.({
      transactions: () => ({ server: this.#layer.serverCount, client: this.#layer.clientCount, bytes: this.#layer.held.bytes }),
      connections: () => Object.fromEntries([...this.#transports].flatMap(([p, t]) => (t instanceof StreamTransport ? [[p, t.openConnections]] : []))),
    });
  }

  /** Registers a handler for requests that the core does not handle itself. */
  on(event: 'request', handler: RequestHandler): this {
    if (event !== 'request') throw new Error(`unknown event ${String(event)}`);
    this.#handlers.push(handler);
    return this;
  }

  get timers(): Readonly<TimerSettings> {
    return this.#timers;
  }

  get advertisedHost(): string {
    return this.#advertisedHost;
  }

  /** Live transaction counts (for tests and diagnostics). */
  get transactionCounts(): { server: number; client: number } {
    return { server: this.#layer.serverCount, client: this.#layer.clientCount };
  }

  /** Starts every configured transport; resolves with the bound addresses. */
  async listen(): Promise<SipAddress[]> {
    const host = this.#options.host ?? '127.0.0.1';
    const onMessage = (data: Buffer, source: SipAddress): void => this.#receive(data, source);
    const onFramingError = (problem: FramingProblem, source: SipAddress, head?: Buffer): Buffer | undefined => {
      this.#metrics.framingError?.(source.transport, problem);
      const answer = head && messageTooLargeAnswer(head, source, this.#limits.maxHeaders, randomTag());
      if (!answer) return undefined;
      this.#metrics.responseSent?.(answer.status);
      return serializeMessage(answer);
    };
    const onConnectionRefused = (reason: ConnectionRefusal, source: SipAddress): void => this.#metrics.connectionRefused?.(source.transport, reason);
    const { udpPort = 5060, tcpPort = 5060, tls } = this.#options;
    const udp = (port: number) => new UdpTransport({ host, port, onMessage, onError: (err) => this.#options.logger?.debug({ err }, 'udp socket error') });
    const { maxMessageBytes, streamMessageDeadlineMs: messageDeadlineMs, maxConnections, maxConnectionsPerSource } = this.#limits;
    const stream = { host, onMessage, onFramingError, onConnectionRefused, maxMessageBytes, messageDeadlineMs, maxConnections, maxConnectionsPerSource, idleTimeoutMs: this.#options.idleConnectionTimeoutMs };
    if (udpPort === 0 && tcpPort === 0) {
      // "Any free port" for both means one port: phones and Contacts name a single SIP port.
      const [u, t] = await bindPairOnOnePort(udp, (port) => new StreamTransport({ ...stream, port }));
      this.#transports.set('udp', u.transport).set('tcp', t.transport);
      this.#bound.set('udp', u.address).set('tcp', t.address);
    } else {
      if (udpPort !== false) this.#transports.set('udp', udp(udpPort));
      if (tcpPort !== false) this.#transports.set('tcp', new StreamTransport({ ...stream, port: tcpPort }));
    }
    if (tls) this.#transports.set('tls', new StreamTransport({ ...stream, port: tls.port, tls }));
    for (const [protocol, transport] of this.#transports) if (!this.#bound.has(protocol)) this.#bound.set(protocol, await transport.listen());
    const hosts = new Set([this.#advertisedHost, host, ...(this.#options.otherOwnHosts ?? [])].map((h) => h.toLowerCase()));
    this.#identity = { hosts, ports: new Set([...this.#bound.values()].map((a) => a.port)) };
    return [...this.#bound.values()];
  }

  /** Serves a renewed TLS certificate and key to new connections; the listener and open connections stay. */
  setTlsCredentials(credentials: Pick<TlsSettings, 'cert' | 'key'>): void {
    const tls = this.#transports.get('tls');
    if (!(tls instanceof StreamTransport)) throw new Error('no tls transport');
    tls.setTlsCredentials(credentials);
  }

  /** The bound address of a transport (after listen). */
  address(protocol: TransportProtocol): SipAddress {
    const bound = this.#bound.get(protocol);
    if (bound === undefined) throw new Error(`no ${protocol} transport`);
    return bound;
  }

  async close(): Promise<void> {
    for (const timer of this.#runningTimerC) clearTimeout(timer);
    this.#runningTimerC.clear();
    this.#layer.abortAll();
    await Promise.all([...this.#transports.values()].map((t) => t.close()));
    this.#transports.clear();
  }

  // ---- helpers for uas.ts / uac.ts -------------------------------------------------------

  /** Our host as seen from `towards` (see advertisedHostFor); advertisedHost when no destination is given. */
  hostFor(towards?: SipAddress): string {
    return (towards && this.#options.advertisedHostFor?.(towards)) ?? this.#advertisedHost;
  }

  /** A Via value for a request we originate or forward over `protocol` (to `towards`), with a new branch. */
  localVia(protocol: TransportProtocol, loopHash?: string, towards?: SipAddress): string {
    const port = this.address(protocol).port;
    return serializeVia({ protocol: 'SIP/2.0', transport: viaTransportToken(protocol), host: this.hostFor(towards), port, params: { branch: newBranch(loopHash), rport: null } });
  }

  /** Our SIP URI on a transport, for Contact and Record-Route, as `towards` reaches us. */
  localUri(protocol: TransportProtocol, user?: string, extraParams = '', towards?: SipAddress): string {
    const port = this.address(protocol).port;
    const transportParam = protocol === 'udp' ? '' : `;transport=${protocol}`;
    return `sip:${user === undefined ? '' : `${user}@`}${this.hostFor(towards)}:${port}${transportParam}${extraParams}`;
  }

  /**
   * Sends a request we originate through a client transaction (retransmitted on UDP) and
   * resolves with its final response; rejects with SipTimeoutError or a transport error.
   */
  request(request: SipRequest, destination: SipAddress, onProvisional?: (response: SipResponse) => void): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      this.#layer.startClient(request, destination, {
        onResponse: (response) => (response.status < 200 ? onProvisional?.(response) : resolve(response)),
        onTimeout: () => reject(new SipTimeoutError(request.method)),
        onTransportError: reject,
      });
    });
  }

  /** Sends a message outside any transaction (ACK for 2xx, 2xx retransmissions). */
  sendStateless(message: SipMessage, destination: SipAddress): Promise<void> {
    return this.#send(message, destination);
  }

  /** Whether a URI names this proxy (one of its hosts and ports). */
  isOwnUri(uri: SipUri): boolean {
    return isOwnUri(uri, this.#identity);
  }

  registerDialog(callId: string, localTag: string, endpoint: LocalDialogEndpoint): void {
    this.#dialogs.set(`${callId}|${localTag}`, endpoint);
  }

  unregisterDialog(callId: string, localTag: string): void {
    this.#dialogs.delete(`${callId}|${localTag}`);
  }

  // ---- receive path ----------------------------------------------------------------------

  #receive(data: Buffer, source: SipAddress): void {
    // Only requests are limited: responses answer requests we sent (a PBX answering hundreds of
    // calls a second is one source), and a trusted upstream may be exempt altogether.
    if (this.#rateLimiter && !isResponseStart(data) && !this.#options.rateLimitExempt?.(source.address) && !this.#rateLimiter.allow(source.address, Date.now())) {
      this.#metrics.rateLimited?.();
      return;
    }
    if (data.length <= 4 && WHITESPACE_ONLY.test(data.toString('latin1'))) return; // keep-alive
    const result = parseMessage(data, { framing: source.transport === 'udp' ? 'datagram' : 'stream', limits: this.#limits });
    if (!result.ok) {
      this.#metrics.parseError?.(result.error.reason);
      this.#rejectMalformed(result.error, source);
      return;
    }
    const message = result.message;
    try {
      if (message.kind === 'request') {
        this.#metrics.requestReceived?.(methodLabel(message.method));
        this.#receiveRequest(message, source);
      } else {
        this.#metrics.responseReceived?.(message.status);
        this.#receiveResponse(message);
      }
    } catch (err) {
      this.#options.logger?.warn({ err }, 'SIP message handling failed');
    }
  }

  /** 400 (505 for a bad version) when we can tell where to send it; otherwise the input is dropped. */
  #rejectMalformed(error: SipParseError, source: SipAddress): void {
    const partial = error.partial;
    if (partial?.kind !== 'request' || partial.method === 'ACK') return;
    const topVia = getHeader(partial, 'via');
    const via = topVia === undefined ? undefined : parseVia(topVia);
    if (via === undefined) return;
    replaceFirstHeader(partial, 'via', serializeVia(stampReceived(via, source.address, source.port)));
    const status = error.reason === 'unsupported-version' ? 505 : 400;
    const response = buildResponse(partial, status, { reason: error.phrase, toTag: randomTag() });
    this.#send(response, this.#responseDestination(partial, source)).catch(() => {});
  }

  #responseDestination(request: SipRequest, source: SipAddress): SipAddress {
    if (source.transport !== 'udp') return source;
    const topVia = getHeader(request, 'via');
    const via = topVia === undefined ? undefined : parseVia(topVia);
    if (via === undefined) return source;
    const target = responseTarget(via);
    return { transport: 'udp', address: target.host, port: target.port };
  }

  #receiveRequest(request: SipRequest, source: SipAddress): void {
    const topVia = parseVia(getHeader(request, 'via')!);
    if (topVia !== undefined) replaceFirstHeader(request, 'via', serializeVia(stampReceived(topVia, source.address, source.port)));

    if (request.method === 'ACK') return this.#receiveAck(request, source);
    const existing = this.#layer.matchServer(request);
    if (existing) return existing.receiveRetransmission();
    const budgetSource = this.#options.rateLimitExempt?.(source.address) ? undefined : source.address;
    if (!this.#layer.admits(request, budgetSource)) {
      this.#metrics.overloaded?.();
      this.#send(overloadAnswer(request, this.#limits.overloadRetryAfterSeconds, randomTag()), this.#responseDestination(request, source)).catch(() => {});
      return;
    }

    const tx = this.#layer.createServer(request, this.#responseDestination(request, source), budgetSource);
    if (tx === undefined) {
      // RFC 2543 peers without a branch cannot be matched; refuse rather than guess.
      const response = buildResponse(request, 400, { reason: 'Missing Via Branch' });
      this.#send(response, this.#responseDestination(request, source)).catch(() => {});
      return;
    }
    if (request.method === 'CANCEL') return this.#receiveCancel(request, tx);
    if (request.method === 'INVITE') this.#respond(tx, buildResponse(request, 100));

    const req = new IncomingRequest(request, source, (r, options) => this.#forward(r, tx, options), this.#connectionOf(source));
    tx.context = req;
    const res = new ServerResponse(request, tx, randomTag(), () => {});

    const toTag = tagOf(getHeader(request, 'to'));
    if (toTag === undefined && isOptionsToSelf(request, this.#identity)) return this.#respond(tx, optionsAnswer(request, randomTag()));
    if (toTag !== undefined) {
      const dialog = this.#dialogs.get(`${getHeader(request, 'call-id')}|${toTag}`);
      if (dialog) return dialog.receiveRequest(req, res);
      if (topRouteIsOwn(request, this.#identity)) {
        void this.#forwardInDialog(req, tx);
        return;
      }
    }
    this.#dispatch(req, res);
  }

  #dispatch(req: IncomingRequest, res: ServerResponse): void {
    if (this.#handlers.length === 0) {
      res.send(501, { reason: 'No Handler' });
      return;
    }
    for (const handler of this.#handlers) {
      try {
        const pending = handler(req, res);
        if (pending instanceof Promise) {
          pending.catch((err: unknown) => {
            this.#options.logger?.warn({ err, method: req.method }, 'SIP request handler failed');
            if (!res.finalSent) res.send(500, { reason: 'Handler Error' });
          });
        }
      } catch (err) {
        this.#options.logger?.warn({ err, method: req.method }, 'SIP request handler failed');
        if (!res.finalSent) res.send(500, { reason: 'Handler Error' });
      }
    }
  }

  #receiveAck(ack: SipRequest, source: SipAddress): void {
    const tx = this.#layer.matchServer(ack);
    if (tx && tx.state !== 'accepted') {
      tx.receiveAck(); // ACK for a non-2xx: hop-by-hop, ends here
      return;
    }
    const toTag = tagOf(getHeader(ack, 'to'));
    const dialog = toTag === undefined ? undefined : this.#dialogs.get(`${getHeader(ack, 'call-id')}|${toTag}`);
    if (dialog) return dialog.receiveAck(ack);
    if (topRouteIsOwn(ack, this.#identity)) {
      const forwarded = cloneMessage(ack);
      const users = ownRouteUsers(forwarded, this.#identity);
      popOwnRoutes(forwarded, this.#identity);
      this.#options.filterForwarded?.(forwarded, source, true);
      const flow = users.length > 0 ? this.#options.inDialogFlow?.(new IncomingRequest(ack, source, () => Promise.resolve({ status: 0 }), this.#connectionOf(source)), users) : undefined;
      if (flow !== undefined && 'status' in flow) return;
      if (flow !== undefined && 'replica' in flow) return this.#ackToReplica(ack, source, flow);
      const hop = flow ? this.#flowDestination(flow.destination, flow.connection) : nextHop(forwarded, tryParseUri);
      if (hop) this.#forwardStatelessAck(forwarded, hop);
      return;
    }
    if (this.#handlers.length > 0) {
      const req = new IncomingRequest(ack, source, async (r, options) => {
        const forwarded = cloneMessage(r.message);
        // An ACK belongs to the dialog its INVITE made: its route set stays.
        this.#options.filterForwarded?.(forwarded, source, true);
        if (options.requestUri) forwarded.uri = options.requestUri;
        this.#forwardStatelessAck(forwarded, { transport: options.destination.transport ?? 'udp', address: options.destination.host, port: options.destination.port });
        return { status: 0 };
      }, this.#connectionOf(source));
      this.#dispatch(req, new ServerResponse(ack, undefined, '', () => {}));
    }
  }

  /** ACK for a 2xx is end to end (RFC 3261 §13.2.2.4): forward it without a transaction. */
  #forwardStatelessAck(ack: SipRequest, destination: SipAddress, viaHost?: string): void {
    const mf = decrementMaxForwards(getHeader(ack, 'max-forwards'));
    if (!mf.ok || !this.#transports.has(destination.transport)) return;
    setHeader(ack, 'max-forwards', String(mf.value));
    // Deterministic branch so a retransmitted ACK gets the same one (stateless forwarding).
    const incoming = getHeader(ack, 'via') ?? '';
    const branch = BRANCH_MAGIC_COOKIE + createHash('sha1').update(incoming).digest('hex').slice(0, 20);
    const via = this.#viaWithHost(destination.transport, viaHost ?? this.hostFor(destination), branch);
    prependHeader(ack, 'via', via);
    this.#send(ack, destination).catch(() => {});
  }

  #receiveCancel(cancel: SipRequest, cancelTx: ServerTransaction): void {
    const inviteTx = this.#layer.matchCancelled(cancel);
    if (inviteTx === undefined) {
      this.#respond(cancelTx, buildResponse(cancel, 481));
      return;
    }
    this.#respond(cancelTx, buildResponse(cancel, 200, { toTag: tagOf(getHeader(inviteTx.lastResponse ?? inviteTx.request, 'to')) }));
    if (inviteTx.finalSent) return;
    const forward = inviteTx.context as ForwardContext | IncomingRequest | undefined;
    if (forward instanceof IncomingRequest || forward === undefined) {
      this.#respond(inviteTx, buildResponse(inviteTx.request, 487, { toTag: randomTag() }));
      forward?.markCancelled();
      return;
    }
    forward.cancelRequested = true;
    if (forward.client?.hasProvisional) this.#sendCancel(forward);
  }

  /** CANCEL for a forwarded INVITE, on the same branch (RFC 3261 §9.1, §16.10). */
  #sendCancel(context: ForwardContext): void {
    if (context.cancelSent) return;
    context.cancelSent = true;
    const invite = context.forwarded;
    const cancel: SipRequest = { kind: 'request', method: 'CANCEL', uri: invite.uri, version: invite.version, headers: [], body: Buffer.alloc(0) };
    for (const name of ['via', 'route']) {
      const values = name === 'via' ? [getHeader(invite, 'via')!] : invite.headers.filter((h) => h.name === 'route').map((h) => h.value);
      for (const value of values) appendHeader(cancel, name, value);
    }
    for (const name of ['max-forwards', 'from', 'to', 'call-id']) {
      const value = getHeader(invite, name);
      if (value !== undefined) appendHeader(cancel, name, value);
    }
    appendHeader(cancel, 'cseq', `${getHeader(invite, 'cseq')!.trim().split(/\s+/)[0]} CANCEL`);
    this.request(cancel, context.destination).catch(() => {});
  }

  #receiveResponse(response: SipResponse): void {
    const tx = this.#layer.matchClient(response);
    if (tx) return tx.receive(response);
    // No transaction: a 2xx retransmission for a forwarded INVITE. Pass it on statelessly.
    const topVia = parseVia(getHeader(response, 'via') ?? '');
    if (topVia === undefined || !isOwnVia(topVia, this.#identity)) return;
    const upstream = cloneMessage(response);
    shiftHeader(upstream, 'via');
    const next = parseVia(getHeader(upstream, 'via') ?? '');
    if (next === undefined) return;
    const target = responseTarget(next);
    const protocol = next.transport.toLowerCase() as TransportProtocol;
    if (!this.#transports.has(protocol)) return;
    this.#send(upstream, { transport: protocol, address: target.host, port: target.port }).catch(() => {});
  }

  #connectionOf(source: SipAddress): number | undefined {
    if (source.transport === 'udp') return undefined;
    let id = this.#connectionIds.get(source);
    if (id === undefined) {
      id = this.#nextConnectionId++;
      this.#connectionIds.set(source, id);
    }
    return id;
  }

  // ---- forwarding --------------------------------------------------------------------------

  #forwardInDialog(req: IncomingRequest, tx: ServerTransaction): Promise<ProxyOutcome> {
    const forwarded = cloneMessage(req.message);
    const users = ownRouteUsers(forwarded, this.#identity);
    popOwnRoutes(forwarded, this.#identity);
    this.#options.filterForwarded?.(forwarded, req.source, true);
    const flow = users.length > 0 ? this.#options.inDialogFlow?.(req, users) : undefined;
    const answer = (status: number, reason: string): Promise<ProxyOutcome> => {
      this.#respond(tx, buildResponse(req.message, status, { reason }));
      return Promise.resolve({ status });
    };
    if (flow !== undefined && 'status' in flow) return answer(flow.status, flow.reason);
    if (flow !== undefined && 'replica' in flow) return this.#forwardToReplica(req, tx, flow);
    const hop = flow ? this.#flowDestination(flow.destination, flow.connection) : nextHop(forwarded, tryParseUri);
    if (hop === undefined) return flow ? answer(430, 'Flow Failed') : answer(400, 'Bad Route');
    return this.#forwardPrepared(req, tx, forwarded, hop, false);
  }

  /**
   * A destination on a phone's flow: over UDP any datagram from our listening socket reaches it;
   * over TCP or TLS only the connection numbered `connection` is the flow. Undefined once that
   * connection has closed (RFC 5626: the flow failed; a new connection would reach nobody).
   */
  #flowDestination(destination: SipAddress, connection: number | undefined): SipAddress | undefined {
    if (destination.transport === 'udp') return this.#transports.has('udp') ? destination : undefined;
    const transport = this.#transports.get(destination.transport);
    const source = transport instanceof StreamTransport ? transport.openConnectionSource(destination) : undefined;
    if (source === undefined || connection === undefined || this.#connectionIds.get(source) !== connection) return undefined;
    const flow: SipAddress = { ...destination };
    this.#flowConnections.set(flow, source);
    return flow;
  }

  #forward(req: IncomingRequest, tx: ServerTransaction, options: ProxyRequestOptions): Promise<ProxyOutcome> {
    const forwarded = cloneMessage(req.message);
    if (!options.keepOwnRoutes) popOwnRoutes(forwarded, this.#identity);
    this.#options.filterForwarded?.(forwarded, req.source, req.inDialog);
    if (options.requestUri !== undefined) forwarded.uri = options.requestUri;
    for (const name of options.headers?.remove ?? []) removeHeader(forwarded, name);
    for (const [name, value] of options.headers?.add ?? []) appendHeader(forwarded, name, value);
    const recordRoute = options.recordRoute ?? (DIALOG_CREATING.has(req.method) && !req.inDialog);
    let first: SipAddress | undefined = addressOfTarget(options.destination);
    if (options.flowConnection !== undefined) first = this.#flowDestination(first, options.flowConnection);
    if (first === undefined) {
      if (!tx.finalSent) this.#respond(tx, buildResponse(req.message, 430, { reason: 'Flow Failed', toTag: randomTag() }));
      return Promise.resolve({ status: 430 });
    }
    const failover = options.alternatives?.length && options.tryNext ? { targets: options.alternatives.map(addressOfTarget), tryNext: options.tryNext } : undefined;
    return this.#forwardPrepared(req, tx, forwarded, first, recordRoute, options, failover);
  }

  #forwardPrepared(
    req: IncomingRequest,
    tx: ServerTransaction,
    base: SipRequest,
    first: SipAddress,
    recordRoute: boolean,
    { recordRouteUser, rewriteResponse, viaHost }: Pick<ProxyRequestOptions, 'recordRouteUser' | 'rewriteResponse' | 'viaHost'> = {},
    failover?: { targets: SipAddress[]; tryNext: (failure: ForwardFailure) => boolean },
  ): Promise<ProxyOutcome> {
    const fail = (status: number, reason?: string): Promise<ProxyOutcome> => {
      this.#respond(tx, buildResponse(req.message, status, { reason, toTag: randomTag() }));
      return Promise.resolve({ status });
    };
    if (tx.finalSent) return Promise.resolve({ status: tx.lastResponse?.status ?? 0 });
    const mf = decrementMaxForwards(getHeader(base, 'max-forwards'));
    if (!mf.ok) return fail(483);
    setHeader(base, 'max-forwards', String(mf.value));
    const loopHash = computeLoopHash(req.message);
    if (isLooping(req.message, loopHash, (via) => isOwnVia(via, this.#identity))) return fail(482);
    if (!this.#transports.has(first.transport)) return fail(503, `No ${first.transport.toUpperCase()} Transport`);
    const isInvite = base.method === 'INVITE';

    return new Promise<ProxyOutcome>((resolve) => {
      const attempt = (destination: SipAddress, next: SipAddress[]): void => {
        // Each attempt is a new branch with its own Via and Record-Route (our face may differ).
        const forwarded = next.length > 0 ? cloneMessage(base) : base;
        if (recordRoute) this.#recordRoute(forwarded, req.source, destination, recordRouteUser);
        prependHeader(forwarded, 'via', viaHost === undefined ? this.localVia(destination.transport, loopHash, destination) : this.#viaWithHost(destination.transport, viaHost, newBranch(loopHash)));
        const context: ForwardContext = { client: undefined, forwarded, destination, cancelRequested: false, cancelSent: false, timerC: undefined };
        tx.context = context;
        /** True when the failure was handed to the next target. */
        const failedOver = (failure: ForwardFailure): boolean => {
          const following = next.find((target) => this.#transports.has(target.transport));
          if (!failover || following === undefined || context.cancelRequested || tx.finalSent || context.client?.hasProvisional || !failover.tryNext(failure)) return false;
          this.#options.logger?.debug({ failure, target: `${destination.address}:${destination.port}`, next: `${following.address}:${following.port}` }, 'next hop failed; trying the next target');
          attempt(following, next.slice(next.indexOf(following) + 1));
          return true;
        };
        const timedOut = (): void => {
          if (failedOver({ kind: 'timeout' })) return;
          if (!tx.finalSent) this.#respond(tx, buildResponse(req.message, 408, { toTag: randomTag() }));
          resolve({ status: 408 });
        };
        context.client = this.#layer.startClient(forwarded, destination, {
          onResponse: (response) => {
            if (response.status === 100) return;
            if (response.status >= 200) {
              this.#stopTimerC(context);
              if (failedOver({ kind: 'response', status: response.status })) return;
            }
            const upstream = cloneMessage(response);
            shiftHeader(upstream, 'via');
            rewriteResponse?.(upstream);
            this.#respond(tx, upstream);
            if (response.status < 200) {
              if (isInvite) this.#restartTimerC(context, timedOut);
              if (context.cancelRequested) this.#sendCancel(context);
              return;
            }
            resolve({ status: response.status, response });
          },
          onTimeout: () => {
            this.#stopTimerC(context);
            timedOut();
          },
          onTransportError: (err) => {
            this.#stopTimerC(context);
            this.#options.logger?.debug({ err: err.message }, 'forwarding failed');
            if (failedOver({ kind: 'transport-error' })) return;
            if (!tx.finalSent) this.#respond(tx, buildResponse(req.message, 503, { reason: 'Next Hop Unreachable', toTag: randomTag() }));
            resolve({ status: 503 });
          },
        });
        if (isInvite) this.#restartTimerC(context, timedOut);
      };
      attempt(first, failover?.targets ?? []);
    });
  }

  /**
   * (Re)starts Timer C (RFC 3261 §16.6 step 11, §16.7 step 2). When it fires the callee has rung
   * too long or said nothing: a branch that rang is CANCELled (its 487 then ends the call as usual,
   * §16.8); one that never answered, or ignored the CANCEL, counts as a 408.
   */
  #restartTimerC(context: ForwardContext, timedOut: () => void): void {
    this.#stopTimerC(context);
    const timer = setTimeout(() => {
      this.#runningTimerC.delete(timer);
      context.timerC = undefined;
      if (context.client?.hasProvisional && !context.cancelSent) {
        this.#sendCancel(context);
        // A callee that ignores the CANCEL too gets one more Timer C before the caller hears 408.
        this.#restartTimerC(context, timedOut);
      } else timedOut();
    }, this.#timers.c);
    context.timerC = timer;
    this.#runningTimerC.add(timer);
  }

  #stopTimerC(context: ForwardContext): void {
    if (context.timerC === undefined) return;
    clearTimeout(context.timerC);
    this.#runningTimerC.delete(context.timerC);
    context.timerC = undefined;
  }

  /**
   * Two entries when the two sides reach us differently, by transport or by host (RFC 5658): the
   * top one for the callee, the next for the caller, so each side routes to its own face of us.
   */
  #recordRoute(forwarded: SipRequest, inbound: SipAddress, outbound: SipAddress, user?: string): void {
    const outboundUri = this.localUri(outbound.transport, user, ';lr', outbound);
    if (this.#transports.has(inbound.transport)) {
      const inboundUri = this.localUri(inbound.transport, user, ';lr', inbound);
      if (inboundUri !== outboundUri) prependHeader(forwarded, 'record-route', `<${inboundUri}>`);
    }
    prependHeader(forwarded, 'record-route', `<${outboundUri}>`);
  }

  /** An in-dialog request for a flow another replica holds (ToReplica): its Routes go along untouched. */
  #forwardToReplica(req: IncomingRequest, tx: ServerTransaction, to: ToReplica): Promise<ProxyOutcome> {
    const forwarded = cloneMessage(req.message);
    this.#options.filterForwarded?.(forwarded, req.source, true);
    return this.#forwardPrepared(req, tx, forwarded, to.replica, false, { viaHost: to.viaHost });
  }

  /** The ACK of such a dialog's 2xx, statelessly, the same way. */
  #ackToReplica(ack: SipRequest, source: SipAddress, to: ToReplica): void {
    const forwarded = cloneMessage(ack);
    this.#options.filterForwarded?.(forwarded, source, true);
    this.#forwardStatelessAck(forwarded, to.replica, to.viaHost);
  }

  #viaWithHost(protocol: TransportProtocol, host: string, branch: string): string {
    return serializeVia({ protocol: 'SIP/2.0', transport: viaTransportToken(protocol), host, port: this.address(protocol).port, params: { branch, rport: null } });
  }

  // ---- send path -----------------------------------------------------------------------------

  #respond(tx: ServerTransaction, response: SipResponse): void {
    tx.respond(response);
  }

  #send(message: SipMessage, destination: SipAddress): Promise<void> {
    const transport = this.#transports.get(destination.transport);
    if (transport === undefined) return Promise.reject(new Error(`no ${destination.transport} transport`));
    if (message.kind === 'request') this.#metrics.requestSent?.(methodLabel(message.method));
    else this.#metrics.responseSent?.(message.status);
    const flowConnection = this.#flowConnections.get(destination);
    if (flowConnection !== undefined && transport instanceof StreamTransport) return transport.sendOnConnection(flowConnection, serializeMessage(message));
    return transport.send(destination, serializeMessage(message));
  }
}

/** Binds a UDP socket on a free port, then TCP on the same one; tries again when TCP finds it taken. */
async function bindPairOnOnePort(
  udp: (port: number) => SipTransport,
  tcp: (port: number) => SipTransport,
): Promise<[{ transport: SipTransport; address: SipAddress }, { transport: SipTransport; address: SipAddress }]> {
  for (let attempt = 1; ; attempt++) {
    const u = udp(0);
    const uAddress = await u.listen();
    const t = tcp(uAddress.port);
    try {
      return [{ transport: u, address: uAddress }, { transport: t, address: await t.listen() }];
    } catch (err) {
      await u.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

const RESPONSE_START = Buffer.from('SIP/2.0 ');

function addressOfTarget(target: ProxyTarget): SipAddress {
  return { transport: target.transport ?? 'udp', address: target.host, port: target.port };
}

function isResponseStart(data: Buffer): boolean {
  return data.length >= RESPONSE_START.length && data.compare(RESPONSE_START, 0, RESPONSE_START.length, 0, RESPONSE_START.length) === 0;
}

export function randomTag(): string {
  return randomBytes(6).toString('hex');
}

export { destinationOfUri };
