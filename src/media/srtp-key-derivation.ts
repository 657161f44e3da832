/**
 * AES in counter mode as SRTP uses it (RFC 3711 section 4.1.1), and the session keys it derives
 * from a master key (section 4.3). With a key derivation rate of 0 (the only one the IVR accepts,
 * and the SDES default) the session keys are derived once, at packet index 0, and never change.
 */
import { createCipheriv } from 'node:crypto';
import { MASTER_SALT_BYTES, SESSION_AUTH_KEY_BYTES, type SrtpMasterKey } from './srtp-suites.ts';

/** Key derivation labels (RFC 3711 section 4.3.2) for SRTP; SRTCP's 3-5 are not needed. */
export const SRTP_LABEL = { encryption: 0, authentication: 1, salt: 2 } as const;

export interface SrtpSessionKeys {
  encryption: Buffer;
  authentication: Buffer;
  salt: Buffer;
}

/**
 * `length` bytes of AES-CM keystream from the 16-byte counter block `iv`. The counter is the
 * block's last bytes counted up as a big-endian number; SRTP keeps every packet within 2^16 blocks
 * of an IV whose last 16 bits are 0, which is exactly what AES-128-CTR does.
 */
export function aesCmKeystream(key: Buffer, iv: Buffer, length: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** XORs `data` with the AES-CM keystream from `iv`: encryption and decryption alike. */
export function aesCmTransform(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * The AES-CM PRF with key derivation rate 0: x = (label || 0^48) XOR master salt, keystream from
 * IV x * 2^16 under the master key.
 */
export function deriveSessionKey(master: SrtpMasterKey, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  master.salt.copy(iv, 0);
  // key_id = label || r is 7 bytes, right-aligned against the 14-byte salt; r = 0.
  iv[MASTER_SALT_BYTES - 7] = (iv[MASTER_SALT_BYTES - 7] ?? 0) ^ label;
  return aesCmKeystream(master.key, iv, length);
}

export function deriveSessionKeys(master: SrtpMasterKey): SrtpSessionKeys {
  return {
    encryption: deriveSessionKey(master, SRTP_LABEL.encryption, master.key.length),
    authentication: deriveSessionKey(master, SRTP_LABEL.authentication, SESSION_AUTH_KEY_BYTES),
    salt: deriveSessionKey(master, SRTP_LABEL.salt, MASTER_SALT_BYTES),
  };
}

/** The counter block of one packet (section 4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
export function packetIv(sessionSalt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  sessionSalt.copy(iv, 0);
  const ssrcBytes = Buffer.alloc(4);
  ssrcBytes.writeUInt32BE(ssrc >>> 0);
  for (let i = 0; i < 4; i++) iv[4 + i] = (iv[4 + i] ?? 0) ^ (ssrcBytes[i] ?? 0);
  const indexBytes = Buffer.alloc(6);
  indexBytes.writeUIntBE(index, 0, 6);
  for (let i = 0; i < 6; i++) iv[8 + i] = (iv[8 + i] ?? 0) ^ (indexBytes[i] ?? 0);
  return iv;
}
