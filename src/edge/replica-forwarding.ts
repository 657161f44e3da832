/**
 * Passing a request from the PBX to the edge replica that holds the phone's flow. Each replica keeps
 * its phones' flows (UDP source through the NAT, TCP connection) in memory; the Service keeps a
 * phone's own traffic on one replica (ClientIP affinity), but the PBX's requests towards the phone
 * may reach any replica. The flow token names the replica holding the flow; this replica cannot
 * verify it (each has its own key), so it passes the request on only when the name is a ready peer
 * of its own pool (replica-peers.ts), and the named replica verifies the token and delivers.
 *
 * The hop is a stateful proxy hop like any other (Via, Max-Forwards, loop detection), but adds no
 * Record-Route: the dialog's later requests follow the holder's Record-Route, which carries the
 * token again, so whichever replica they reach can pass them on the same way.
 */
import type { ToReplica } from '../sip/proxy.ts';
import type { IncomingRequest, ServerResponse } from '../sip/request-context.ts';
import type { TransportProtocol } from '../sip/transport.ts';
import type { FlowTokens } from './flow-token.ts';
import type { ForwardToReplica } from './flow-delivery.ts';
import { replicaAddress } from './replica-peers.ts';

export interface PeerSet {
  has(replica: string): boolean;
}

/** Between replicas: UDP or TCP as the request came (TLS ends at the edge; the replicas speak TCP inside). */
function towardsPeer(arrivedOver: TransportProtocol): TransportProtocol {
  return arrivedOver === 'udp' ? 'udp' : 'tcp';
}

export type ReplicaHop = { to: ToReplica } | { status: 430; reason: 'Flow Failed' };

/**
 * Where a request for another replica's flow goes: that replica when it is a ready peer, else
 * 430 Flow Failed (its pod is gone, and its flows with it: the PBX tries the phone's other
 * bindings, and the phone registers again through a live replica).
 */
export function replicaHop(replica: string, peers: PeerSet, arrivedOver: TransportProtocol, ownHost: string): ReplicaHop {
  const address = peers.has(replica) ? replicaAddress(replica, towardsPeer(arrivedOver)) : undefined;
  if (address === undefined) return { status: 430, reason: 'Flow Failed' };
  return { to: { replica: address, viaHost: ownHost } };
}

/** The flow-delivery seam for out-of-dialog requests (an incoming call, a MESSAGE). */
export function forwardToReplica(peers: PeerSet, ownHost: () => string): ForwardToReplica {
  return async (req: IncomingRequest, res: ServerResponse, replica: string) => {
    const hop = replicaHop(replica, peers, req.source.transport, ownHost());
    if ('status' in hop) {
      res.send(hop.status, { reason: hop.reason });
      return;
    }
    const { address, port, transport } = hop.to.replica;
    await req.proxy({ destination: { host: address, port, transport }, recordRoute: false, keepOwnRoutes: true, viaHost: hop.to.viaHost });
  };
}

/**
 * For an in-dialog request from the PBX whose Routes to us carry flow tokens: the hop to the
 * replica that wrote one, when none is ours. Undefined when a token is this replica's own (or none
 * is a token at all): the caller delivers it here as before.
 */
export function inDialogReplicaHop(routeUsers: readonly string[], tokens: FlowTokens, self: string, peers: PeerSet, arrivedOver: TransportProtocol, ownHost: string): ReplicaHop | undefined {
  const named = routeUsers.map((user) => tokens.replicaOf(user)).filter((r) => r !== undefined);
  const other = named.find((r) => r !== self);
  if (other === undefined || named.includes(self)) return undefined;
  return replicaHop(other, peers, arrivedOver, ownHost);
}
