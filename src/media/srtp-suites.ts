/**
 * The SRTP crypto suites the IVR speaks (RFC 4568 section 6.2): AES in counter mode with a 128-bit
 * key and HMAC-SHA1, the tag cut to 80 or 32 bits. Both use a 128-bit master key and a 112-bit
 * master salt (RFC 3711 section 8.2), derive a 160-bit authentication key, and allow 2^31 packets
 * per master key. The GCM and 192/256-bit suites some phones offer as well are not among them.
 */
import { inspect } from 'node:util';

export interface SrtpSuite {
  name: SrtpSuiteName;
  /** Bytes of the authentication tag appended to each SRTP packet. */
  tagBytes: number;
}

export type SrtpSuiteName = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export const SRTP_SUITES: ReadonlyMap<string, SrtpSuite> = new Map<string, SrtpSuite>([
  ['AES_CM_128_HMAC_SHA1_80', { name: 'AES_CM_128_HMAC_SHA1_80', tagBytes: 10 }],
  ['AES_CM_128_HMAC_SHA1_32', { name: 'AES_CM_128_HMAC_SHA1_32', tagBytes: 4 }],
]);

export const MASTER_KEY_BYTES = 16;
export const MASTER_SALT_BYTES = 14;
export const SESSION_AUTH_KEY_BYTES = 20;
/** RFC 3711 section 9.2: at most 2^31 SRTP packets under one master key (our suites' maximum). */
export const MAX_MASTER_KEY_PACKETS = 2 ** 31;

/**
 * One master key and salt, as a=crypto carries them. Never printed: JSON and util.inspect show a
 * placeholder, so a key cannot reach a log line by accident.
 */
export class SrtpMasterKey {
  readonly key: Buffer;
  readonly salt: Buffer;

  constructor(key: Buffer, salt: Buffer) {
    if (key.length !== MASTER_KEY_BYTES) throw new RangeError(`an SRTP master key is ${MASTER_KEY_BYTES} bytes (got ${key.length})`);
    if (salt.length !== MASTER_SALT_BYTES) throw new RangeError(`an SRTP master salt is ${MASTER_SALT_BYTES} bytes (got ${salt.length})`);
    this.key = Buffer.from(key);
    this.salt = Buffer.from(salt);
  }

  /** key || salt, as written base64 after "inline:". */
  get concatenated(): Buffer {
    return Buffer.concat([this.key, this.salt]);
  }

  toJSON(): string {
    return '[SRTP master key]';
  }

  [inspect.custom](): string {
    return '[SRTP master key]';
  }
}
