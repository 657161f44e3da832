/**
 * Via header values (RFC 3261 §20.42, RFC 3581 rport) and the RFC 3261 branch parameter.
 */
import { randomBytes } from 'node:crypto';
import { parseParams, serializeParams, type SipParams } from './params.ts';

export interface Via {
  /** `SIP/2.0`. */
  protocol: string;
  /** Upper-case transport token: UDP, TCP, TLS, ... */
  transport: string;
  host: string;
  port?: number;
  params: SipParams;
}

export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

const SENT_PROTOCOL = /^\s*([A-Za-z0-9.!%*_+`'~-]+)\s*\/\s*([0-9.]+)\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+([^;\s]+)\s*(;.*)?$/s;

/** Parses one Via value; undefined when malformed. */
export function parseVia(value: string): Via | undefined {
  const m = SENT_PROTOCOL.exec(value);
  if (!m) return undefined;
  const sentBy = m[4]!;
  let host: string;
  let portText: string | undefined;
  if (sentBy.startsWith('[')) {
    const close = sentBy.indexOf(']');
    if (close < 0) return undefined;
    host = sentBy.slice(0, close + 1);
    if (sentBy.length > close + 1) {
      if (sentBy[close + 1] !== ':') return undefined;
      portText = sentBy.slice(close + 2);
    }
  } else {
    const colon = sentBy.indexOf(':');
    host = colon < 0 ? sentBy : sentBy.slice(0, colon);
    if (colon >= 0) portText = sentBy.slice(colon + 1);
  }
  if (host === '') return undefined;
  const via: Via = {
    protocol: `${m[1]!.toUpperCase()}/${m[2]}`,
    transport: m[3]!.toUpperCase(),
    host: host.toLowerCase(),
    params: m[5] ? parseParams(m[5]) : {},
  };
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    via.port = Number(portText);
    if (via.port < 1 || via.port > 65535) return undefined;
  }
  return via;
}

export function serializeVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${via.host}${port}${serializeParams(via.params)}`;
}

export function branchOf(via: Via): string | undefined {
  const b = via.params['branch'];
  return b === null ? undefined : b;
}

/** `host:port` with the transport's default port filled in, for transaction matching. */
export function sentByKey(via: Via): string {
  return `${via.host}:${via.port ?? (via.transport === 'TLS' ? 5061 : 5060)}`;
}

/**
 * Where responses to a request carrying this Via go (RFC 3261 §18.2.2 with RFC 3581):
 * `received` overrides the host, `rport=<n>` overrides the port.
 */
export function responseTarget(via: Via): { host: string; port: number } {
  const received = via.params['received'];
  const rport = via.params['rport'];
  const host = received ? received : via.host;
  const port = rport ? Number(rport) : via.port ?? (via.transport === 'TLS' ? 5061 : 5060);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/**
 * Stamps the address a request really came from onto its top Via (RFC 3261 §18.2.1, RFC 3581):
 * `received` when the sent-by host differs, and the source port into an empty `rport`.
 */
export function stampReceived(via: Via, sourceAddress: string, sourcePort: number): Via {
  const params: SipParams = { ...via.params };
  if ('rport' in params) {
    params['rport'] = String(sourcePort);
    params['received'] = sourceAddress;
  } else if (via.host.replace(/^\[|\]$/g, '') !== sourceAddress) {
    params['received'] = sourceAddress;
  }
  return { ...via, params };
}

/** A fresh RFC 3261 branch; `loopHash` (when given) is embedded so loops can be recognised. */
export function newBranch(loopHash?: string): string {
  const unique = randomBytes(8).toString('hex');
  return loopHash === undefined ? `${BRANCH_MAGIC_COOKIE}${unique}` : `${BRANCH_MAGIC_COOKIE}${loopHash}.${unique}`;
}

/** The loop-hash part of a branch created by `newBranch(loopHash)`, if any. */
export function loopHashOfBranch(branch: string): string | undefined {
  if (!branch.startsWith(BRANCH_MAGIC_COOKIE)) return undefined;
  const dot = branch.indexOf('.', BRANCH_MAGIC_COOKIE.length);
  return dot < 0 ? undefined : branch.slice(BRANCH_MAGIC_COOKIE.length, dot);
}
