import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SipAddress } from '../sip/transport.ts';

/**
 * Whether a source address is the pool's PBX, when the pool may name its PBX by host name: the
 * name is resolved to its addresses (A and AAAA, through the system resolver as every other
 * client in the pod would) and resolved again every `refreshMs`, so a PBX that moves is followed.
 * The check itself is synchronous and never waits for DNS: until the first answer arrives the
 * PBX is treated as any other source, and a failed refresh keeps the addresses known before.
 */
export interface PbxAddressOptions {
  /** Re-resolve this often (default 30 s). */
  refreshMs?: number;
  /** After a failed resolution, try again this soon (default 5 s). */
  retryMs?: number;
  /** The resolver; default: getaddrinfo through node:dns. */
  resolve?: (host: string) => Promise<string[]>;
  onError?: (host: string, err: unknown) => void;
}

export async function systemResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}

/** One spelling per address: lower case, and an IPv4-mapped IPv6 address as plain IPv4. */
export function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

export class HostAddresses {
  readonly #refreshMs: number;
  readonly #retryMs: number;
  readonly #resolve: (host: string) => Promise<string[]>;
  readonly #onError: PbxAddressOptions['onError'];
  #host: string | undefined;
  #addresses: ReadonlySet<string> = new Set();
  #nextRefreshAt = -Infinity;
  #resolving = false;

  constructor(opts: PbxAddressOptions = {}) {
    this.#refreshMs = opts.refreshMs ?? 30_000;
    this.#retryMs = opts.retryMs ?? 5_000;
    this.#resolve = opts.resolve ?? systemResolve;
    this.#onError = opts.onError;
  }

  /** Whether `address` is one of `host`'s addresses (as last resolved), or `host` itself if it is an IP. */
  matches(host: string | undefined, address: string, now: number = Date.now()): boolean {
    if (!host) return false;
    if (isIP(host) !== 0) return canonicalAddress(address) === canonicalAddress(host);
    if (host !== this.#host) {
      // The pool now names another PBX: what the old name resolved to counts no more.
      this.#host = host;
      this.#addresses = new Set();
      this.#nextRefreshAt = -Infinity;
    }
    if (now >= this.#nextRefreshAt && !this.#resolving) this.#refresh(host, now);
    return this.#addresses.has(canonicalAddress(address));
  }

  #refresh(host: string, now: number): void {
    this.#resolving = true;
    this.#resolve(host).then(
      (addresses) => {
        if (this.#host !== host) return;
        this.#addresses = new Set(addresses.map(canonicalAddress));
        this.#nextRefreshAt = now + this.#refreshMs;
      },
      (err: unknown) => {
        if (this.#host !== host) return;
        this.#nextRefreshAt = now + this.#retryMs;
        this.#onError?.(host, err);
      },
    ).finally(() => {
      this.#resolving = false;
    });
  }
}

/** The rate-limit exemption for the pool's PBX: `host()` is read on every call, so a changed pool is followed. */
export function pbxAddressMatcher(host: () => string | undefined, opts: PbxAddressOptions = {}): (address: string) => boolean {
  const addresses = new HostAddresses(opts);
  return (address) => addresses.matches(host(), address);
}

/**
 * Whether a SIP request came from the pool's PBX itself (a request towards a phone, which passes
 * unfiltered and unattributed): on a TCP or TLS connection the edge opened to the PBX and the PBX
 * sends its own requests back on (RFC 5923 connection reuse), or else from one of its host's
 * addresses and the port it listens on. A connection accepted from the PBX's host on another port
 * is not the PBX: any program on that host, or behind the same NAT, could have opened it, unless
 * it is a TLS connection whose client proved with a certificate that it is `pbx.host`.
 */
export function isFromPbx(addresses: HostAddresses, pbx: PbxName, source: Pick<SipAddress, 'address' | 'port' | 'connection'>): boolean {
  // A TLS client whose verified certificate names the PBX host is the PBX, whatever its port.
  if (source.connection?.certifiedFor?.(pbx.host) === true) return true;
  const openedTo = source.connection?.openedTo;
  return isPbxTarget(addresses, pbx, openedTo ?? source);
}

/**
 * Whether a request that names one of our flow tokens (a call or NOTIFY for a phone) is the PBX's
 * to deliver, besides what isFromPbx accepts: over UDP, from any port of the PBX host's addresses.
 * UDP has no connection to prove a port by, and NAT rewrites ports on the way: a PBX behind its
 * own NAT, and a kube-proxy load balancer whose conntrack entry clashes with the edge's own flow to
 * the PBX (a PBX sending from 5060 to the node port arrives at the pod from 52425), send the calls
 * for phones from a port that is not the PBX's. The token, which only the edge can mint, names the
 * phone, and the request's headers stay untrusted (filterForwarded). Over TCP and TLS the
 * connection decides. (In-dialog requests for a phone's flow are taken from the PBX's host on any
 * transport: phone-flows.ts.)
 */
export function isFromPbxHostOverUdp(addresses: HostAddresses, pbx: Pick<PbxName, 'host'>, source: Pick<SipAddress, 'address' | 'transport'>): boolean {
  // matches() compares an IP host itself, and resolves a name.
  return source.transport === 'udp' && addresses.matches(pbx.host, source.address);
}

type PbxName = {
  host: string;
  port?: number | undefined;
  /** Without `port`: the ports it listens on (its DNS SRV targets', pbx-resolver.ts knownPorts); undefined while unknown. */
  ports?: readonly number[] | undefined;
};

/** Whether `target` is where the PBX listens: one of its host's addresses (or its name as written), on its port. */
function isPbxTarget(addresses: HostAddresses, pbx: PbxName, target: { address: string; port: number }): boolean {
  // A PBX found through SRV may listen on several addresses and ports: any of its targets'.
  const ports = pbx.port !== undefined ? [pbx.port] : pbx.ports;
  if (ports === undefined || !ports.includes(target.port)) return false;
  return target.address.toLowerCase() === pbx.host.toLowerCase() || addresses.matches(pbx.host, target.address);
}
