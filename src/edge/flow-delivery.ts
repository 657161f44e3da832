/**
 * Requests from the PBX towards a phone name the phone's flow by a flow token (flow-token.ts) that
 * the edge wrote into the registration: in the Path (then it comes back as the top Route's user
 * part) or in the Contact (then it is the Request-URI's user part). This file finds the token and
 * decides which replica delivers: this one, or the one the token names (through the
 * `forwardToReplica` seam; without one, the request gets 430 Flow Failed as RFC 5626 asks of an
 * edge that cannot reach the flow).
 */
import { getHeader, type SipRequest } from '../sip/message.ts';
import { tryParseNameAddr } from '../sip/name-addr.ts';
import type { IncomingRequest, ServerResponse } from '../sip/request-context.ts';
import { tryParseUri, type SipUri } from '../sip/uri.ts';
import type { FlowAddress, FlowTokens } from './flow-token.ts';

/** Where a request carried its flow token. */
export type TokenPlace = 'route' | 'request-uri';

export interface FoundToken {
  token: string;
  place: TokenPlace;
}

/**
 * The flow token of a request for a phone: the user part of the top Route when that Route is ours
 * (Path mode), else the user part of the Request-URI when that is ours (Contact mode). Undefined
 * when neither of ours carries a user part: the request is not for a phone's flow.
 */
export function findFlowToken(request: SipRequest, isOwn: (uri: SipUri) => boolean): FoundToken | undefined {
  const route = tryParseNameAddr(getHeader(request, 'route'));
  if (route !== undefined) {
    if (!isOwn(route.uri)) return undefined;
    if (route.uri.user) return { token: route.uri.user, place: 'route' };
  }
  const uri = tryParseUri(request.uri);
  if (uri !== undefined && isOwn(uri) && uri.user) return { token: uri.user, place: 'request-uri' };
  return undefined;
}

/**
 * Whether a token is one this replica wrote, or names a ready peer that can check it. A request
 * from the PBX's host on another port (isFromPbxHostOverUdp) is delivered only for such a token: a
 * phone that shares the PBX's address sends the edge's own URI too (sip:911@edge), and its dialled
 * number is no token.
 */
export function isDeliverableToken(token: string, tokens: FlowTokens, replica: string, isReadyPeer: (replica: string) => boolean): boolean {
  if (tokens.decode(token) !== undefined) return true;
  const named = tokens.replicaOf(token);
  return named !== undefined && named !== replica && isReadyPeer(named);
}

/**
 * Passes a request for a flow another replica holds to that replica (replica-forwarding.ts); the
 * default answers 430 Flow Failed, so the PBX tries the phone's other bindings. `replica` is read
 * from the token unverified: each replica has its own key, so only the one named can verify it.
 */
export type ForwardToReplica = (req: IncomingRequest, res: ServerResponse, replica: string, found: FoundToken) => Promise<void>;

export const answerFlowFailed: ForwardToReplica = async (_req, res) => {
  res.send(430, { reason: 'Flow Failed' });
};

export interface FlowDeliveryOptions {
  tokens: FlowTokens;
  /** This replica's own name in tokens (its in-cluster SIP `host:port`). */
  replica: string;
  forwardToReplica?: ForwardToReplica;
  /** The request came from another replica, which passed it here: it is never passed on again. */
  fromReplica?: boolean;
  /** Delivers a request whose flow this replica holds (policy, then the phone's flow). */
  deliverHere: (req: IncomingRequest, res: ServerResponse, flow: FlowAddress, found: FoundToken) => Promise<void>;
}

/** Routes a request that carries a flow token: refused when the token is not ours, else to its replica. */
export async function deliverToFlow(req: IncomingRequest, res: ServerResponse, found: FoundToken, opts: FlowDeliveryOptions): Promise<void> {
  const named = opts.tokens.replicaOf(found.token);
  if (named !== undefined && named !== opts.replica) {
    // One hop at most between replicas: a replica passes on only what the PBX sent it.
    if (opts.fromReplica) {
      res.send(430, { reason: 'Flow Failed' });
      return;
    }
    return (opts.forwardToReplica ?? answerFlowFailed)(req, res, named, found);
  }
  const flow = opts.tokens.decode(found.token);
  // Garbled, forged, or made before this edge restarted with a new key: nothing is sent anywhere.
  if (flow === undefined) {
    res.send(404, { reason: 'Unknown Flow' });
    return;
  }
  return opts.deliverHere(req, res, flow, found);
}
