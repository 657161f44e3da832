/** What the rest of the SIP layer needs from a transport, whatever the wire underneath. */

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** A peer or local address on one transport. */
export interface SipAddress {
  transport: TransportProtocol;
  address: string;
  port: number;
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
