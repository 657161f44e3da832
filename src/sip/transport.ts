/** What the rest of the SIP layer needs from a transport, whatever the wire underneath. */

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** A peer or local address on one transport. */
export interface SipAddress {
  transport: TransportProtocol;
  address: string;
  port: number;
  /**
   * TCP and TLS: on a message's source, the connection it arrived on; on a destination, the one
   * connection it must go on (a phone's flow), never a new one.
   */
  connection?: StreamConnection;
}

/** One TCP or TLS connection, as the stream transport knows it. */
export interface StreamConnection {
  /** Unique in the process and never reused, so a new connection from the same address and port is told apart. */
  readonly id: number;
  /**
   * Set when this side opened the connection: the target it was opened to, as the sender named it
   * (a peer that sends requests back on it is the peer we chose to reach, RFC 5923). Absent when
   * the peer connected to us: then only its source address and port are known.
   */
  readonly openedTo?: { readonly address: string; readonly port: number };
  /**
   * Set on an accepted TLS connection whose client presented a certificate that verifies for client
   * use against the transport's CA bundle: whether that certificate is valid for `host` (its DNS or
   * IP names, wildcards as for a server's). Absent when no such certificate came.
   */
  readonly certifiedFor?: (host: string) => boolean;
}

/** Receives each whole message (one datagram, or one framed stream message) with its source. */
export type MessageSink = (data: Buffer, source: SipAddress) => void;

export interface SipTransport {
  readonly protocol: TransportProtocol;
  /** Whether the transport is reliable (no retransmissions, timers D/I/J/K are zero). */
  readonly reliable: boolean;
  /** Binds and starts receiving; resolves with the bound address (port 0 becomes a real port). */
  listen(): Promise<SipAddress>;
  /** Sends one serialized message; rejects when the peer cannot be reached. */
  send(destination: { address: string; port: number }, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export function addressKey(a: { address: string; port: number }): string {
  return `${a.address}:${a.port}`;
}

/** Case-folded transport token as used in Via (`UDP`) from our protocol name. */
export function viaTransportToken(protocol: TransportProtocol): string {
  return protocol.toUpperCase();
}

export function protocolFromToken(token: string | undefined): TransportProtocol | undefined {
  switch (token?.toLowerCase()) {
    case 'udp':
      return 'udp';
    case 'tcp':
      return 'tcp';
    case 'tls':
      return 'tls';
    default:
      return undefined;
  }
}
