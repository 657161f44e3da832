/**
 * Flow tokens (RFC 5626 style): the edge writes one into the Path or Contact it gives the PBX for a
 * phone's registration, so a request the PBX later sends towards the phone names the exact flow
 * (transport, the NAT's public address and port, the TCP connection) and the edge replica that
 * holds it. The token is authenticated: a forged one could otherwise make the edge send requests to
 * any address it chose. Each replica makes its own key when it starts (its flows live in its memory
 * and die with it, and so do its tokens): another replica cannot verify a token, so it reads the
 * replica a token names unverified (replicaOf) and passes the request on only when that names a
 * current peer of its pool (replica-peers.ts); the replica holding the flow verifies the token.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { TransportProtocol } from '../sip/transport.ts';

/** A phone's flow as one edge replica holds it. */
export interface FlowAddress {
  /** The replica holding the flow, as `host:port` of its SIP listener inside the cluster. */
  replica: string;
  transport: TransportProtocol;
  /** The phone's address and port as the edge sees them (the NAT's public side). */
  address: string;
  port: number;
  /** The replica's number for the TCP or TLS connection; absent for UDP. */
  connection?: number;
}

const MAC_BYTES = 12;
const TRANSPORTS: ReadonlySet<string> = new Set<TransportProtocol>(['udp', 'tcp', 'tls']);
/** Only characters that stay as they are in the user part of a SIP URI. */
const TOKEN = /^[A-Za-z0-9_-]{8,300}$/;

export class FlowTokens {
  // A KeyObject: HMAC with a raw Buffer key re-imports the key on every call, several times slower.
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    if (key.length < 16) throw new Error('a flow token key needs at least 16 bytes');
    this.#key = createSecretKey(key);
  }

  encode(flow: FlowAddress): string {
    const payload = Buffer.from([flow.transport, flow.address, String(flow.port), String(flow.connection ?? ''), flow.replica].join('|'), 'utf8');
    return Buffer.concat([payload, this.#mac(payload)]).toString('base64url');
  }

  /** The flow a token names; undefined when the token is garbled, forged or made with another key. */
  decode(token: string): FlowAddress | undefined {
    if (!TOKEN.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= MAC_BYTES) return undefined;
    const payload = raw.subarray(0, raw.length - MAC_BYTES);
    const mac = raw.subarray(raw.length - MAC_BYTES);
    if (!timingSafeEqual(mac, this.#mac(payload))) return undefined;
    const [transport, address, port, connection, replica, ...rest] = payload.toString('utf8').split('|');
    if (rest.length > 0 || !transport || !TRANSPORTS.has(transport) || !address || !replica) return undefined;
    const portNumber = Number(port);
    if (!Number.isInteger(portNumber) || portNumber <= 0 || portNumber > 65535) return undefined;
    const connectionNumber = connection === '' ? undefined : Number(connection);
    if (connectionNumber !== undefined && !Number.isInteger(connectionNumber)) return undefined;
    return { replica, transport: transport as TransportProtocol, address, port: portNumber, ...(connectionNumber !== undefined ? { connection: connectionNumber } : {}) };
  }

  /**
   * The replica a well-formed token names, WITHOUT checking its MAC: for a replica that holds another
   * key and only needs to know where to pass the request. Never act on the rest of an unverified
   * token; undefined when the token is not shaped like one.
   */
  replicaOf(token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= MAC_BYTES) return undefined;
    const fields = raw.subarray(0, raw.length - MAC_BYTES).toString('utf8').split('|');
    return fields.length === 5 && fields[4] ? fields[4] : undefined;
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}
