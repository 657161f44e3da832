/**
 * The edge's side of the phones' flows: the token naming the flow a request arrived on, delivery of
 * a request from the PBX on the flow its token names (after the desk policy), and in-dialog
 * requests the PBX sends back through the edge's Record-Route.
 */
import type { HotDeskPool } from '../api/index.ts';
import type { InDialogFlowRoute, SipProxy } from '../sip/proxy.ts';
import { flowKey, type IncomingRequest, type ServerResponse } from '../sip/request-context.ts';
import type { TransportProtocol } from '../sip/transport.ts';
import type { SipUri } from '../sip/uri.ts';
import { decideDeskDelivery } from './desk-delivery-policy.ts';
import type { FlowAddress, FlowTokens } from './flow-token.ts';
import type { FoundToken } from './flow-delivery.ts';
import type { HostAddresses } from './pbx-addresses.ts';
import type { PoolView } from './pool-view.ts';
import type { RegistrationTable } from './registrations.ts';

export interface PhoneFlowsDeps {
  proxy: SipProxy;
  tokens: FlowTokens;
  /** This replica's name in tokens; read when needed (the SIP port is known once listening). */
  replica: () => string;
  view: PoolView;
  registrations: RegistrationTable;
  pbxAddresses: HostAddresses;
  /** Whether an address is another replica of the pool, passing on the PBX's requests (replica-forwarding.ts). */
  isPeer?: (address: string) => boolean;
}

/** The key registrations.ts files a flow under, for the flow a token names. */
export function flowKeyOf(flow: FlowAddress): string {
  return flowKey({ transport: flow.transport, address: flow.address, port: flow.port }, flow.connection);
}

/**
 * An in-dialog request through our Record-Route carrying a flow token goes to the phone on that
 * flow when it comes from the PBX's host (any port: a PBX on TCP connects from any) and not on the
 * flow itself; from the phone, or from anyone else, it is routed as usual.
 */
export function inDialogTowardsPhone(fromPbxHost: boolean, arrivedOn: string, flow: FlowAddress): boolean {
  return fromPbxHost && flowKeyOf(flow) !== arrivedOn;
}

export class PhoneFlows {
  readonly #deps: PhoneFlowsDeps;

  constructor(deps: PhoneFlowsDeps) {
    this.#deps = deps;
  }

  /** The token of the flow a request from a phone arrived on. */
  tokenOf(req: IncomingRequest): string {
    const { transport, address, port } = req.source;
    return this.#deps.tokens.encode({ replica: this.#deps.replica(), transport, address, port, ...(req.connection !== undefined ? { connection: req.connection } : {}) });
  }

  /** The edge's URI towards the PBX, with `token` as its user part. */
  edgeUri(pool: HotDeskPool, token: string): string {
    return this.#deps.proxy.localUri((pool.spec.pbx.transport ?? 'udp') as TransportProtocol, token);
  }

  /**
   * The phone's own Contact behind an edge URI the registrar lists for `identity` (a binding made
   * through an older flow of this replica); undefined when the URI is not ours or not known here.
   */
  phoneContactOf(uri: SipUri, identity: string): string | undefined {
    if (!uri.user || !this.#deps.proxy.isOwnUri(uri)) return undefined;
    const flow = this.#deps.tokens.decode(uri.user);
    return flow && flow.replica === this.#deps.replica() ? this.#deps.registrations.flowContact(flowKeyOf(flow), identity) : undefined;
  }

  /** The desk's identity now: the occupant's extension, else its idle account. */
  #deskIdentity(device: string): string | undefined {
    const { view } = this.#deps;
    return view.occupantExtension(device) ?? view.device(device)?.spec.idleIdentity.username;
  }

  /** A request from the PBX for a flow this replica holds: refused unless it is for the desk's identity now. */
  async deliverHere(req: IncomingRequest, res: ServerResponse, flow: FlowAddress, found: FoundToken): Promise<void> {
    const { view, registrations } = this.#deps;
    const key = flowKeyOf(flow);
    const registered = registrations.flow(key);
    const decision = decideDeskDelivery({
      calledIdentity: req.to?.uri.user,
      deskIdentity: registered ? this.#deskIdentity(registered.device) : undefined,
      flowIdentities: registered?.identities ?? [],
      isPoolIdentity: (identity) => view.deskOf(identity) !== undefined || view.userByExtension(identity) !== undefined,
    });
    if (!decision.deliver) {
      res.send(decision.status, { reason: decision.reason });
      return;
    }
    // Contact mode: the PBX wrote the edge's URI; the phone gets back the Contact it registered.
    const contact = found.place === 'request-uri' ? registrations.flowContact(key, decision.identity) : undefined;
    if (found.place === 'request-uri' && contact === undefined) {
      res.send(480, { reason: 'Temporarily Unavailable' });
      return;
    }
    await req.proxy({
      destination: { host: flow.address, port: flow.port, transport: flow.transport },
      ...(flow.connection !== undefined ? { flowConnection: flow.connection } : {}),
      ...(contact !== undefined ? { requestUri: contact } : {}),
      recordRouteUser: found.token,
    });
  }

  /** SipProxyOptions.inDialogFlow: where an in-dialog request from the PBX for a phone goes. */
  inDialogFlow(req: IncomingRequest, routeUsers: string[]): InDialogFlowRoute | undefined {
    const pool = this.#deps.view.pool();
    const fromPbxSide = pool !== undefined && (this.#deps.pbxAddresses.matches(pool.spec.pbx.host, req.source.address) || this.#deps.isPeer?.(req.source.address) === true);
    if (!fromPbxSide) return undefined;
    for (const user of routeUsers) {
      const flow = this.#deps.tokens.decode(user);
      if (flow === undefined) continue;
      if (!inDialogTowardsPhone(true, req.flow, flow)) return undefined;
      // Another replica's flow that was passed here after all: this one cannot reach it.
      if (flow.replica !== this.#deps.replica()) return { status: 430, reason: 'Flow Failed' };
      return { destination: { transport: flow.transport, address: flow.address, port: flow.port }, ...(flow.connection !== undefined ? { connection: flow.connection } : {}) };
    }
    return { status: 404, reason: 'Unknown Flow' };
  }
}
