/**
 * The DNS side of pbx-targets.ts: SRV, then A/AAAA lookups through the system's DNS servers
 * (node:dns Resolver), cached per host and transport for the records' TTL (kept within 5 s and
 * 1 h). Lookups for one name are shared, and a failed refresh keeps the targets known before.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TransportProtocol } from '../sip/transport.ts';
import { clampTtl, defaultPort, MIN_TTL_SECONDS, orderSrv, srvName, type PbxTarget, type SrvRecord } from './pbx-targets.ts';

/** The lookups used (node:dns/promises Resolver has them). */
export interface DnsLookups {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string, options: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
  resolve6(name: string, options: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
}

export interface PbxLocation {
  host: string;
  /** Unset: look the PBX up in DNS (SRV, then A/AAAA). */
  port?: number | undefined;
  transport?: TransportProtocol | undefined;
}

interface Resolved {
  /** SRV records with their addresses, or one pseudo-record for the host's own addresses. */
  records: Array<SrvRecord & { addresses: string[] }>;
  expiresAt: number;
}

const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NOTFOUND', 'NODATA']);

export class PbxResolver {
  readonly #dns: DnsLookups;
  readonly #now: () => number;
  readonly #onError: ((host: string, err: unknown) => void) | undefined;
  readonly #cache = new Map<string, Resolved>();
  readonly #inFlight = new Map<string, Promise<Resolved>>();

  constructor(opts: { dns?: DnsLookups; now?: () => number; onError?: (host: string, err: unknown) => void } = {}) {
    this.#dns = opts.dns ?? new Resolver();
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError;
  }

  /** Whether the PBX is looked up in DNS rather than used as written. */
  static usesDns(pbx: PbxLocation): boolean {
    return pbx.port === undefined && isIP(pbx.host) === 0;
  }

  /** The targets to try, in order. A PBX with a port, or named by IP, is one target as written. */
  async targets(pbx: PbxLocation): Promise<PbxTarget[]> {
    const transport = pbx.transport ?? 'udp';
    if (!PbxResolver.usesDns(pbx)) return [{ host: pbx.host, port: pbx.port ?? defaultPort(transport), transport }];
    const resolved = await this.#resolved(pbx.host, transport);
    const targets = orderSrv(resolved.records).flatMap((r) => r.addresses.map((host) => ({ host, port: r.port, transport })));
    // Nothing usable: let the transport resolve the name itself, as with a port set.
    return targets.length > 0 ? targets : [{ host: pbx.host, port: defaultPort(transport), transport }];
  }

  /**
   * The ports the PBX listens on, its requests' source ports over UDP: the one target's port when it
   * is not looked up in DNS, else its targets' ports as last looked up (undefined before the first
   * answer: the PBX is then known by no port yet).
   */
  knownPorts(pbx: PbxLocation): number[] | undefined {
    const transport = pbx.transport ?? 'udp';
    if (!PbxResolver.usesDns(pbx)) return [pbx.port ?? defaultPort(transport)];
    const records = this.#cache.get(`${transport}|${pbx.host.toLowerCase()}`)?.records;
    return records === undefined ? undefined : [...new Set(records.map((r) => r.port))];
  }

  /** Every address the PBX's targets have (its requests may come from any). */
  async addresses(pbx: PbxLocation): Promise<string[]> {
    if (!PbxResolver.usesDns(pbx)) return [];
    const resolved = await this.#resolved(pbx.host, pbx.transport ?? 'udp');
    return [...new Set(resolved.records.flatMap((r) => r.addresses))];
  }

  #resolved(host: string, transport: TransportProtocol): Promise<Resolved> {
    const key = `${transport}|${host.toLowerCase()}`;
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > this.#now()) return Promise.resolve(cached);
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#lookUp(host, transport).then(
        (fresh) => {
          this.#cache.set(key, fresh);
          return fresh;
        },
        (err: unknown) => {
          this.#onError?.(host, err);
          // Keep what was known; look again soon.
          const stale = { records: cached?.records ?? [], expiresAt: this.#now() + MIN_TTL_SECONDS * 1000 };
          this.#cache.set(key, stale);
          return stale;
        },
      ).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  async #lookUp(host: string, transport: TransportProtocol): Promise<Resolved> {
    const srv = await this.#dns.resolveSrv(srvName(host, transport)).catch((err: unknown) => {
      if (NO_RECORDS.has((err as { code?: string }).code ?? '')) return [];
      throw err;
    });
    const named = srv.length > 0 ? srv : [{ name: host, port: defaultPort(transport), priority: 0, weight: 0 }];
    let ttl = Infinity;
    const records = await Promise.all(named.map(async (record) => {
      const found = await this.#addressesOf(record.name);
      for (const a of found) ttl = Math.min(ttl, a.ttl);
      return { ...record, addresses: found.map((a) => a.address) };
    }));
    if (records.every((r) => r.addresses.length === 0)) throw new Error(`${host}: no SRV target has an address`);
    // Node reports no TTL for SRV records: the addresses' TTLs stand for them (a minute if none).
    return { records, expiresAt: this.#now() + clampTtl(Number.isFinite(ttl) ? ttl : 60) * 1000 };
  }

  async #addressesOf(name: string): Promise<Array<{ address: string; ttl: number }>> {
    if (isIP(name) !== 0) return [{ address: name, ttl: Infinity }];
    const none = (err: unknown): Array<{ address: string; ttl: number }> => {
      if (NO_RECORDS.has((err as { code?: string }).code ?? '')) return [];
      throw err;
    };
    const [v4, v6] = await Promise.all([this.#dns.resolve4(name, { ttl: true }).catch(none), this.#dns.resolve6(name, { ttl: true }).catch(none)]);
    return [...v4, ...v6];
  }
}
