/**
 * Where the PBX is, when the pool names it without a port (RFC 3263 reduced to what a proxy with
 * one upstream needs): the SRV records of `_sip._udp`, `_sip._tcp` or `_sips._tcp` in priority
 * order (weighted at random within a priority, RFC 2782), else the host's own addresses on the
 * transport's default port; and when a request fails on one target, whether to try the next.
 * Pure: the DNS lookups are in pbx-resolver.ts.
 */
import type { TransportProtocol } from '../sip/transport.ts';

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface PbxTarget {
  /** An address (or a name the transport resolves) and port to send to. */
  host: string;
  port: number;
  transport: TransportProtocol;
}

/** How one attempt at a target failed, as the proxy saw it. */
export type TargetFailure = { kind: 'transport-error' } | { kind: 'timeout' } | { kind: 'response'; status: number };

/** TTLs are kept within these bounds: a zero TTL must not mean a lookup per call, nor a long one a PBX never followed. */
export const MIN_TTL_SECONDS = 5;
export const MAX_TTL_SECONDS = 3600;

export function clampTtl(seconds: number): number {
  if (!Number.isFinite(seconds)) return MIN_TTL_SECONDS;
  return Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.floor(seconds)));
}

export function srvName(host: string, transport: TransportProtocol): string {
  return transport === 'tls' ? `_sips._tcp.${host}` : `_sip._${transport}.${host}`;
}

export function defaultPort(transport: TransportProtocol): number {
  return transport === 'tls' ? 5061 : 5060;
}

/**
 * SRV records in the order to try them: lowest priority first; within one priority, picked at
 * random in proportion to weight (weight 0 still gets a small chance, RFC 2782). `random` returns
 * [0, 1). A single "." target means the service is explicitly not offered: no records.
 */
export function orderSrv<R extends SrvRecord>(records: readonly R[], random: () => number = Math.random): R[] {
  if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return [];
  const byPriority = new Map<number, R[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  const ordered: R[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Weight-0 records first, as RFC 2782 asks, so they are picked only when drawing a zero.
    const left = [...byPriority.get(priority)!].sort((a, b) => a.weight - b.weight);
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const draw = Math.floor(random() * (total + 1));
      let running = 0;
      let index = left.findIndex((r) => (running += r.weight) >= draw);
      if (index < 0) index = left.length - 1;
      ordered.push(left.splice(index, 1)[0]!);
    }
  }
  return ordered;
}

/**
 * Whether a request that failed on one target goes to the next (RFC 3263 §4.3): the target did
 * not take it (transport error), never answered (timeout), or said it is unavailable (503). Any
 * other answer is the PBX's, and goes back to the phone. A request that drew a provisional response
 * is never retried: the target has it.
 */
export function shouldTryNextTarget(failure: TargetFailure): boolean {
  switch (failure.kind) {
    case 'transport-error':
    case 'timeout':
      return true;
    case 'response':
      return failure.status === 503;
  }
}
