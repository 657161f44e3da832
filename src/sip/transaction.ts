/**
 * RFC 3261 §17 transactions: client and server, INVITE and non-INVITE, with timers A–K.
 * Retransmissions happen only on unreliable transports. The INVITE server transaction has the
 * RFC 6026 "Accepted" state so retransmitted INVITEs after a 2xx are absorbed rather than being
 * seen as new requests, while 2xx retransmissions and the ACK still flow through the core.
 */
import { getHeader, getHeaders, SIP_VERSION, cseqOf, type SipHeader, type SipRequest, type SipResponse } from './message.ts';
import type { SipAddress } from './transport.ts';
import { messageBytes, TransactionBudget } from './limits-transactions.ts';
import { branchOf, parseVia, sentByKey } from './via.ts';

export interface TimerSettings {
  /** RTT estimate, 500 ms by default. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s by default. */
  t2: number;
  /** Maximum time a message stays in the network, 5 s by default. */
  t4: number;
  /**
   * Timer C (RFC 3261 §16.6 step 11): how long a proxy waits for a forwarded INVITE's final
   * response, restarted by each provisional one; more than 3 minutes (185 s) by default.
   */
  c: number;
}

export const DEFAULT_TIMERS: Readonly<TimerSettings> = { t1: 500, t2: 4000, t4: 5000, c: 185_000 };

/** What transactions need from below: send a message to an address, and know if it is reliable. */
export interface TransactionIo {
  send(message: SipRequest | SipResponse, destination: SipAddress): Promise<void>;
  isReliable(destination: SipAddress): boolean;
}

export type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';
export type ServerState = 'trying' | 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

export interface ClientTransactionHandlers {
  /** Every response the transaction user should see (retransmitted finals are absorbed). */
  onResponse(response: SipResponse): void;
  /** Timer B / F fired without a final response. */
  onTimeout(): void;
  onTransportError(error: Error): void;
}

/** Matching key of a transaction (RFC 3261 §17.1.3 / §17.2.3). */
export function transactionKey(branch: string, sentBy: string, method: string): string {
  return `${branch}|${sentBy}|${method === 'ACK' ? 'INVITE' : method}`;
}

function keyOfRequest(request: SipRequest, method = request.method): string | undefined {
  const topVia = getHeader(request, 'via');
  const via = topVia === undefined ? undefined : parseVia(topVia);
  const branch = via === undefined ? undefined : branchOf(via);
  if (via === undefined || branch === undefined) return undefined;
  return transactionKey(branch, sentByKey(via), method);
}

function keyOfResponse(response: SipResponse): string | undefined {
  const topVia = getHeader(response, 'via');
  const via = topVia === undefined ? undefined : parseVia(topVia);
  const branch = via === undefined ? undefined : branchOf(via);
  const cseq = cseqOf(response);
  if (via === undefined || branch === undefined || cseq === undefined) return undefined;
  return `${branch}|${cseq.method === 'ACK' ? 'INVITE' : cseq.method}`;
}

class TimerSet {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        fn();
      }, ms),
    );
  }
  clear(name: string): void {
    const t = this.#timers.get(name);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(name);
  }
  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}

/** The ACK a client INVITE transaction sends for a non-2xx final response (§17.1.1.3). */
export function buildNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: SipHeader[] = [];
  const topVia = getHeader(invite, 'via');
  if (topVia !== undefined) headers.push({ name: 'via', value: topVia });
  for (const route of getHeaders(invite, 'route')) headers.push({ name: 'route', value: route });
  const copy = (name: string, from: SipRequest | SipResponse): void => {
    const value = getHeader(from, name);
    if (value !== undefined) headers.push({ name, value });
  };
  copy('max-forwards', invite);
  copy('from', invite);
  copy('to', response);
  copy('call-id', invite);
  headers.push({ name: 'cseq', value: `${cseqOf(invite)?.seq ?? 1} ACK` });
  return { kind: 'request', method: 'ACK', uri: invite.uri, version: SIP_VERSION, headers, body: Buffer.alloc(0) };
}

export class ClientTransaction {
  readonly key: string;
  readonly request: SipRequest;
  readonly destination: SipAddress;
  readonly isInvite: boolean;
  #state: ClientState;
  #lastProvisional: SipResponse | undefined;
  readonly #timers = new TimerSet();
  readonly #io: TransactionIo;
  readonly #settings: TimerSettings;
  readonly #handlers: ClientTransactionHandlers;
  readonly #onTerminated: () => void;
  #ack: SipRequest | undefined;

  constructor(request: SipRequest, destination: SipAddress, key: string, io: TransactionIo, settings: TimerSettings, handlers: ClientTransactionHandlers, onTerminated: () => void) {
    this.request = request;
    this.destination = destination;
    this.key = key;
    this.isInvite = request.method === 'INVITE';
    this.#state = this.isInvite ? 'calling' : 'trying';
    this.#io = io;
    this.#settings = settings;
    this.#handlers = handlers;
    this.#onTerminated = onTerminated;
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Whether a provisional response has arrived (a CANCEL may only be sent after one). */
  get hasProvisional(): boolean {
    return this.#lastProvisional !== undefined;
  }

  start(): void {
    this.#transmit();
    const { t1, t2 } = this.#settings;
    if (!this.#io.isReliable(this.destination)) {
      const retransmit = (interval: number): void => {
        this.#timers.set(this.isInvite ? 'A' : 'E', interval, () => {
          if (this.#state !== 'calling' && this.#state !== 'trying' && this.#state !== 'proceeding') return;
          this.#transmit();
          const next = this.isInvite ? interval * 2 : this.#state === 'proceeding' ? t2 : Math.min(interval * 2, t2);
          retransmit(next);
        });
      };
      retransmit(t1);
    }
    this.#timers.set(this.isInvite ? 'B' : 'F', 64 * t1, () => {
      if (this.#state === 'calling' || this.#state === 'trying' || (this.#state === 'proceeding' && !this.isInvite)) {
        this.#terminate();
        this.#handlers.onTimeout();
      }
    });
  }

  receive(response: SipResponse): void {
    const provisional = response.status < 200;
    if (this.isInvite) {
      if (this.#state === 'calling' || this.#state === 'proceeding') {
        if (provisional) {
          this.#state = 'proceeding';
          this.#lastProvisional = response;
          this.#timers.clear('A');
          this.#handlers.onResponse(response);
        } else if (response.status < 300) {
          this.#terminate();
          this.#handlers.onResponse(response);
        } else {
          this.#state = 'completed';
          this.#timers.clear('A');
          this.#timers.clear('B');
          this.#ack = buildNon2xxAck(this.request, response);
          this.#sendAck();
          this.#timers.set('D', this.#io.isReliable(this.destination) ? 0 : 32_000, () => this.#terminate());
          this.#handlers.onResponse(response);
        }
      } else if (this.#state === 'completed' && !provisional && response.status >= 300) {
        this.#sendAck();
      }
      return;
    }
    if (this.#state === 'trying' || this.#state === 'proceeding') {
      if (provisional) {
        this.#state = 'proceeding';
        this.#lastProvisional = response;
        this.#handlers.onResponse(response);
      } else {
        this.#state = 'completed';
        this.#timers.clearAll();
        this.#timers.set('K', this.#io.isReliable(this.destination) ? 0 : this.#settings.t4, () => this.#terminate());
        this.#handlers.onResponse(response);
      }
    }
  }

  /** Stops all timers without notifying anyone (shutdown). */
  abort(): void {
    this.#terminate();
  }

  #transmit(): void {
    this.#io.send(this.request, this.destination).catch((err: Error) => {
      if (this.#state === 'terminated' || this.#state === 'completed') return;
      this.#terminate();
      this.#handlers.onTransportError(err);
    });
  }

  #sendAck(): void {
    if (this.#ack) this.#io.send(this.#ack, this.destination).catch(() => {});
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.clearAll();
    this.#onTerminated();
  }
}

export interface ServerTransactionEvents {
  /** Timer H fired: no ACK for our non-2xx final response. */
  onAckTimeout?(): void;
  onTransportError?(error: Error): void;
}

export class ServerTransaction {
  readonly key: string;
  readonly request: SipRequest;
  /** Where responses go: the request's source (reliable) or its Via-derived address (UDP). */
  readonly responseDestination: SipAddress;
  readonly isInvite: boolean;
  /** Free slot for the transaction user (the proxy keeps its forwarding context here). */
  context: unknown;
  events: ServerTransactionEvents = {};
  #state: ServerState;
  #lastResponse: SipResponse | undefined;
  readonly #timers = new TimerSet();
  readonly #io: TransactionIo;
  readonly #settings: TimerSettings;
  readonly #onTerminated: () => void;

  constructor(request: SipRequest, responseDestination: SipAddress, key: string, io: TransactionIo, settings: TimerSettings, onTerminated: () => void) {
    this.request = request;
    this.responseDestination = responseDestination;
    this.key = key;
    this.isInvite = request.method === 'INVITE';
    this.#state = this.isInvite ? 'proceeding' : 'trying';
    this.#io = io;
    this.#settings = settings;
    this.#onTerminated = onTerminated;
  }

  get state(): ServerState {
    return this.#state;
  }

  get lastResponse(): SipResponse | undefined {
    return this.#lastResponse;
  }

  /** Whether a final response has been sent. */
  get finalSent(): boolean {
    return this.#lastResponse !== undefined && this.#lastResponse.status >= 200;
  }

  /** A retransmission of the request arrived: resend what we last sent (absorbs it either way). */
  receiveRetransmission(): void {
    if (this.#state === 'accepted' || this.#state === 'confirmed' || this.#state === 'terminated') return;
    if (this.#lastResponse) this.#transmit(this.#lastResponse);
  }

  /** ACK for our non-2xx final response: stop retransmitting (Timer I absorbs stragglers). */
  receiveAck(): void {
    if (this.#state !== 'completed') return;
    this.#state = 'confirmed';
    this.#timers.clear('G');
    this.#timers.clear('H');
    this.#timers.set('I', this.#io.isReliable(this.responseDestination) ? 0 : this.#settings.t4, () => this.#terminate());
  }

  /** Sends a response through the transaction; ignored once the transaction is over. */
  respond(response: SipResponse): void {
    const { t1, t2 } = this.#settings;
    const reliable = this.#io.isReliable(this.responseDestination);
    if (response.status < 200) {
      if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
      this.#state = 'proceeding';
      this.#lastResponse = response;
      this.#transmit(response);
      return;
    }
    if (this.isInvite) {
      if (this.#state === 'accepted' && response.status < 300) {
        this.#transmit(response); // a 2xx retransmission passing through
        return;
      }
      if (this.#state !== 'proceeding') return;
      this.#lastResponse = response;
      this.#transmit(response);
      if (response.status < 300) {
        this.#state = 'accepted';
        this.#timers.set('L', 64 * t1, () => this.#terminate());
        return;
      }
      this.#state = 'completed';
      if (!reliable) {
        const retransmit = (interval: number): void => {
          this.#timers.set('G', interval, () => {
            if (this.#state !== 'completed') return;
            this.#transmit(response);
            retransmit(Math.min(interval * 2, t2));
          });
        };
        retransmit(t1);
      }
      this.#timers.set('H', 64 * t1, () => {
        if (this.#state !== 'completed') return;
        this.#terminate();
        this.events.onAckTimeout?.();
      });
      return;
    }
    if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
    this.#state = 'completed';
    this.#lastResponse = response;
    this.#transmit(response);
    this.#timers.set('J', reliable ? 0 : 64 * t1, () => this.#terminate());
  }

  abort(): void {
    this.#terminate();
  }

  #transmit(response: SipResponse): void {
    this.#io.send(response, this.responseDestination).catch((err: Error) => this.events.onTransportError?.(err));
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.clearAll();
    this.#onTerminated();
  }
}

/**
 * Owns all live transactions and matches incoming messages to them. Every transaction is charged
 * to a budget (count and bytes held) for as long as it lives; `admits` tells whether a new
 * incoming request still fits.
 */
export class TransactionLayer {
  readonly #io: TransactionIo;
  readonly #settings: TimerSettings;
  readonly #budget: TransactionBudget;
  readonly #servers = new Map<string, ServerTransaction>();
  readonly #clients = new Map<string, ClientTransaction>();

  constructor(io: TransactionIo, settings: TimerSettings, budget: TransactionBudget = new TransactionBudget(Infinity, Infinity)) {
    this.#io = io;
    this.#settings = settings;
    this.#budget = budget;
  }

  /** Transactions live and bytes of messages they hold. */
  get held(): { transactions: number; bytes: number } {
    return { transactions: this.#budget.transactions, bytes: this.#budget.bytes };
  }

  /** Whether a server transaction for this new request fits in the budget (and in `source`'s share, if given). */
  admits(request: SipRequest, source?: string): boolean {
    return this.#budget.admits(messageBytes(request), source);
  }

  get serverCount(): number {
    return this.#servers.size;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** The server transaction a request (or its retransmission, or an ACK) belongs to. */
  matchServer(request: SipRequest): ServerTransaction | undefined {
    const key = keyOfRequest(request);
    return key === undefined ? undefined : this.#servers.get(key);
  }

  /** The INVITE server transaction a CANCEL refers to (same branch and sent-by). */
  matchCancelled(cancel: SipRequest): ServerTransaction | undefined {
    const key = keyOfRequest(cancel, 'INVITE');
    return key === undefined ? undefined : this.#servers.get(key);
  }

  /**
   * Undefined when the request has no usable Via branch (it then cannot be answered statefully).
   * `source`: the address whose share of the budget the transaction is charged to.
   */
  createServer(request: SipRequest, responseDestination: SipAddress, source?: string): ServerTransaction | undefined {
    const key = keyOfRequest(request);
    if (key === undefined) return undefined;
    const bytes = messageBytes(request);
    const tx = new ServerTransaction(request, responseDestination, key, this.#io, this.#settings, () => {
      this.#budget.refund(bytes, source);
      if (this.#servers.get(key) === tx) this.#servers.delete(key);
    });
    // A request reusing a live key replaces it in the table; the replaced one is still charged
    // until its own timers end it.
    this.#budget.charge(bytes, source);
    this.#servers.set(key, tx);
    return tx;
  }

  matchClient(response: SipResponse): ClientTransaction | undefined {
    const key = keyOfResponse(response);
    return key === undefined ? undefined : this.#clients.get(key);
  }

  /** Creates and starts a client transaction; the request's top Via must carry a fresh branch. */
  startClient(request: SipRequest, destination: SipAddress, handlers: ClientTransactionHandlers): ClientTransaction {
    const topVia = getHeader(request, 'via');
    const via = topVia === undefined ? undefined : parseVia(topVia);
    const branch = via === undefined ? undefined : branchOf(via);
    if (branch === undefined) throw new Error('client transaction needs a top Via with a branch');
    const key = `${branch}|${request.method}`;
    const bytes = messageBytes(request);
    const tx = new ClientTransaction(request, destination, key, this.#io, this.#settings, handlers, () => {
      this.#budget.refund(bytes);
      if (this.#clients.get(key) === tx) this.#clients.delete(key);
    });
    this.#budget.charge(bytes);
    this.#clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Stops every timer (shutdown). */
  abortAll(): void {
    for (const tx of [...this.#servers.values()]) tx.abort();
    for (const tx of [...this.#clients.values()]) tx.abort();
  }
}
