/**
 * The objects a `proxy.on('request', (req, res) => ...)` handler receives: the request with
 * its source and a `proxy()` method to forward it, and the response side to answer locally.
 */
import { getHeader, getHeaders, type SipRequest, type SipResponse } from './message.ts';
import { tagOf, tryParseNameAddr, type NameAddr } from './name-addr.ts';
import { buildResponse, type ResponseOptions } from './response-builder.ts';
import type { ServerTransaction } from './transaction.ts';
import type { SipAddress, TransportProtocol } from './transport.ts';
import { tryParseUri, type SipUri } from './uri.ts';

export interface ProxyTarget {
  host: string;
  port: number;
  /** Default `udp`. */
  transport?: TransportProtocol;
}

/** How one forwarding attempt failed before any provisional response (see ProxyRequestOptions.alternatives). */
export type ForwardFailure = { kind: 'transport-error' } | { kind: 'timeout' } | { kind: 'response'; status: number };

export interface ProxyRequestOptions {
  destination: ProxyTarget;
  /**
   * Further targets, in order, tried one after the other when an attempt fails before any
   * provisional response and `tryNext` says the failure warrants it (RFC 3263 §4.3 failover).
   */
  alternatives?: ProxyTarget[];
  tryNext?: (failure: ForwardFailure) => boolean;
  headers?: {
    /** Headers to add below any existing ones of the same name, in order. */
    add?: Array<[string, string]>;
    /** Header names to remove before forwarding (case-insensitive, compact forms not expanded). */
    remove?: string[];
  };
  /**
   * Insert Record-Route so in-dialog requests come back through us. Default: true for
   * dialog-creating methods (INVITE, SUBSCRIBE, REFER, NOTIFY), false otherwise.
   */
  recordRoute?: boolean;
  /** Replace the Request-URI. */
  requestUri?: string;
  /**
   * The destination is a phone's flow over TCP or TLS: send on the connection the proxy numbered
   * so (IncomingRequest.connection), never on a new one; 430 Flow Failed once it has closed.
   */
  flowConnection?: number;
  /** User part of the Record-Route entries added (a flow token), so in-dialog requests name the flow too. */
  recordRouteUser?: string;
  /** Changes each response (a copy) before it goes back to the sender. */
  rewriteResponse?: (response: SipResponse) => void;
  /**
   * Leave the Routes that name us in place: the destination is another replica of ours, which
   * shares our advertised address and reads its own flow token from them.
   */
  keepOwnRoutes?: boolean;
  /** The host of the Via we add, when not the advertised one (towards another replica: our pod address). */
  viaHost?: string;
}

/** How forwarding ended: the final status passed upstream (locally made for 408/482/483/503). */
export interface ProxyOutcome {
  status: number;
  /** The final response received from downstream, when there was one. */
  response?: SipResponse;
}

export type Forwarder = (request: IncomingRequest, options: ProxyRequestOptions) => Promise<ProxyOutcome>;

export class ServerResponse {
  readonly #request: SipRequest;
  readonly #transaction: ServerTransaction | undefined;
  readonly #toTag: string;
  readonly #onSent: (response: SipResponse) => void;

  constructor(request: SipRequest, transaction: ServerTransaction | undefined, toTag: string, onSent: (response: SipResponse) => void) {
    this.#request = request;
    this.#transaction = transaction;
    this.#toTag = toTag;
    this.#onSent = onSent;
  }

  /** The To-tag used for responses sent through `send` (stable per request). */
  get toTag(): string {
    return tagOf(getHeader(this.#request, 'to')) ?? this.#toTag;
  }

  get finalSent(): boolean {
    return this.#transaction?.finalSent ?? true;
  }

  /** The server transaction (absent for ACK, which has none). */
  get transaction(): ServerTransaction | undefined {
    return this.#transaction;
  }

  /**
   * Answers the request locally. Returns the response sent, or undefined when it could not be
   * sent (an ACK, or a final response was already sent).
   */
  send(status: number, options: ResponseOptions = {}): SipResponse | undefined {
    const tx = this.#transaction;
    if (tx === undefined) return undefined;
    if (tx.finalSent && !(tx.isInvite && status >= 200 && status < 300 && tx.state === 'accepted')) return undefined;
    const response = buildResponse(this.#request, status, { toTag: this.#toTag, ...options });
    tx.respond(response);
    this.#onSent(response);
    return response;
  }
}

/**
 * The flow a request arrived on (RFC 5626 §3): transport, source address and port, and for TCP and
 * TLS the connection, so a new connection from a reused address and port is a new flow.
 */
export function flowKey(source: SipAddress, connection?: number): string {
  return `${source.transport}|${source.address}|${source.port}${connection === undefined ? '' : `|${connection}`}`;
}

export class IncomingRequest {
  readonly message: SipRequest;
  readonly source: SipAddress;
  /** The flow it arrived on (see flowKey): what a REGISTER proved, and what proves a later request. */
  readonly flow: string;
  /** The proxy's number for the TCP or TLS connection it came on; undefined for UDP. */
  readonly connection: number | undefined;
  readonly #forwarder: Forwarder;
  readonly #cancelListeners: Array<() => void> = [];
  #cancelled = false;

  /** `connection`: which TCP/TLS connection it came on (absent for UDP). */
  constructor(message: SipRequest, source: SipAddress, forwarder: Forwarder, connection?: number) {
    this.message = message;
    this.source = source;
    this.flow = flowKey(source, connection);
    this.connection = connection;
    this.#forwarder = forwarder;
  }

  get method(): string {
    return this.message.method;
  }

  /** The Request-URI as written. */
  get uri(): string {
    return this.message.uri;
  }

  /** The parsed Request-URI; undefined for a non-SIP URI such as `tel:`. */
  get parsedUri(): SipUri | undefined {
    return tryParseUri(this.message.uri);
  }

  get callId(): string {
    return getHeader(this.message, 'call-id') ?? '';
  }

  get from(): NameAddr | undefined {
    return tryParseNameAddr(getHeader(this.message, 'from'));
  }

  get to(): NameAddr | undefined {
    return tryParseNameAddr(getHeader(this.message, 'to'));
  }

  /** True for a request inside an existing dialog (its To carries a tag). */
  get inDialog(): boolean {
    return tagOf(getHeader(this.message, 'to')) !== undefined;
  }

  get(name: string): string | undefined {
    return getHeader(this.message, name);
  }

  getAll(name: string): string[] {
    return getHeaders(this.message, name);
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Called when the caller CANCELs this (locally handled) INVITE; a 487 has been sent already. */
  onCancel(listener: () => void): void {
    this.#cancelListeners.push(listener);
  }

  /** Forwards the request statefully to `options.destination`; resolves when it is over. */
  proxy(options: ProxyRequestOptions): Promise<ProxyOutcome> {
    return this.#forwarder(this, options);
  }

  /** Used by the core when a CANCEL for this request arrives. */
  markCancelled(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    for (const listener of this.#cancelListeners) listener();
  }
}
