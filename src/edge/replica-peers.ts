/**
 * The other replicas of this edge's pool, from the edge Service's EndpointSlices: the only
 * addresses a replica passes a phone's request to. A flow token names the replica holding the flow,
 * but another replica cannot verify the token (each has its own key, flow-token.ts), so the name
 * alone must never choose where a request goes: only a ready endpoint of the pool's own Service
 * does.
 */
import { edgeName } from '../api/labels.ts';
import { Informer, type KindDescriptor, type KubeClient, type KubeObject } from '../runtime/index.ts';
import type { SipAddress } from '../sip/transport.ts';
import type { Logger } from '../log.ts';

export const ENDPOINT_SLICE_KIND = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  namespaced: true,
} as const satisfies KindDescriptor;

/** The label the endpoint controller puts on a Service's slices. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The edge Service's SIP ports, by the names edge-objects.ts gives them. */
const SIP_PORT_NAMES = ['sip-udp', 'sip-tcp'];

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } }> | null;
  ports?: Array<{ name?: string | null; port?: number | null; protocol?: string | null }> | null;
}

/** A replica's name as flow tokens write it: `host:port`, an IPv6 host in brackets. */
export function replicaName(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The SIP address of a replica name; undefined when it is not `host:port`. */
export function replicaAddress(name: string, transport: SipAddress['transport']): SipAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(name);
  const port = Number(match?.[3]);
  const address = match?.[1] ?? match?.[2];
  if (!address || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { transport, address, port };
}

/**
 * Ready peers as replica names, from a Service's slices. An endpoint without a ready condition
 * counts as ready (the API says so for an unknown state); one marked not ready (starting, or
 * terminating) does not: its flows are gone or about to be.
 */
export function readyReplicas(slices: readonly EndpointSlice[]): Set<string> {
  const replicas = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const sip = SIP_PORT_NAMES.map((name) => slice.ports?.find((p) => p.name === name)).find((p) => p?.port);
    if (!sip?.port) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) replicas.add(replicaName(address, sip.port));
    }
  }
  return replicas;
}

/** Watches the pool's edge Service's EndpointSlices in the edge's namespace. */
export class ReplicaPeers {
  readonly informer: Informer<EndpointSlice>;
  #ready = new Set<string>();

  constructor(client: KubeClient, opts: { namespace: string; pool: string; logger?: Logger }) {
    this.informer = new Informer<EndpointSlice>(client, {
      kind: ENDPOINT_SLICE_KIND,
      namespace: opts.namespace,
      labelSelector: `${SERVICE_NAME_LABEL}=${edgeName(opts.pool)}`,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const refresh = () => {
      this.#ready = readyReplicas(this.informer.list());
    };
    this.informer.addHandler({ onAdd: refresh, onUpdate: refresh, onDelete: refresh });
  }

  /** Whether `replica` (`host:port`) is a ready replica of this pool now. */
  has(replica: string): boolean {
    return this.#ready.has(replica);
  }

  /** Ready replicas now (this one included when it is ready). */
  list(): string[] {
    return [...this.#ready];
  }

  /** Whether a request came from a ready replica of the pool (any port: TCP connects from any). */
  isPeerAddress(address: string): boolean {
    for (const replica of this.#ready) if (replicaAddress(replica, 'udp')?.address === address) return true;
    return false;
  }
}
