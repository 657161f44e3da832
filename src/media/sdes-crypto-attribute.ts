/**
 * SDP Security Descriptions (RFC 4568): the `a=crypto` attribute that carries an SRTP master key in
 * the SDP, read from an offer and written into our answer. Pure. A line the IVR cannot honour (a
 * suite it does not speak, an MKI, several keys, a key derivation rate other than 0, unencrypted or
 * unauthenticated SRTP, forward error correction) is refused with a reason, so that the offer's
 * next line can be tried; reasons never quote the key.
 *
 *   a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4
 */
import { randomBytes } from 'node:crypto';
import { MASTER_KEY_BYTES, MASTER_SALT_BYTES, MAX_MASTER_KEY_PACKETS, SRTP_SUITES, SrtpMasterKey, type SrtpSuite } from './srtp-suites.ts';

export interface SdesCrypto {
  /** The offer's tag, echoed in the answer (1 to 9 digits). */
  tag: string;
  suite: SrtpSuite;
  master: SrtpMasterKey;
  /** Packets the key may protect, when the line limits it. */
  lifetime?: number;
}

export type SdesParseResult = { ok: true; crypto: SdesCrypto } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Session parameters that change nothing for an IVR that sends and receives no RTCP, or only hint. */
const HARMLESS_SESSION_PARAMS = /^(UNENCRYPTED_SRTCP|WSH=\d+|KDR=0)$/;

/** Reads an `a=crypto` value (what follows "a=crypto:"). */
export function parseSdesCrypto(value: string): SdesParseResult {
  const [tag, suiteName, keyParams, ...sessionParams] = value.trim().split(/\s+/);
  if (!tag || !/^\d{1,9}$/.test(tag) || !suiteName || !keyParams) return { ok: false, reason: 'malformed a=crypto line' };
  const suite = SRTP_SUITES.get(suiteName);
  if (!suite) return { ok: false, reason: `crypto suite ${suiteName.slice(0, 40)} is not supported` };
  const keys = keyParams.split(';');
  if (keys.length !== 1) return { ok: false, reason: `${suiteName}: several master keys (only one, without MKI, is supported)` };
  const keyParam = keys[0] ?? '';
  if (!keyParam.startsWith('inline:')) return { ok: false, reason: `${suiteName}: key method is not "inline"` };
  const [keySalt = '', ...rest] = keyParam.slice('inline:'.length).split('|');
  let lifetime: number | undefined;
  for (const part of rest) {
    if (part.includes(':')) return { ok: false, reason: `${suiteName}: an MKI is not supported` };
    const match = /^(2\^)?(\d{1,10})$/.exec(part);
    if (!match || lifetime !== undefined) return { ok: false, reason: `${suiteName}: malformed key lifetime` };
    lifetime = match[1] ? 2 ** Number(match[2]) : Number(match[2]);
    if (!(lifetime >= 1) || lifetime > MAX_MASTER_KEY_PACKETS) return { ok: false, reason: `${suiteName}: key lifetime out of range` };
  }
  const material = BASE64.test(keySalt) ? Buffer.from(keySalt, 'base64') : Buffer.alloc(0);
  if (material.length !== MASTER_KEY_BYTES + MASTER_SALT_BYTES) return { ok: false, reason: `${suiteName}: the inline key is not ${MASTER_KEY_BYTES + MASTER_SALT_BYTES} bytes of base64 key and salt` };
  const refused = sessionParams.find((param) => !HARMLESS_SESSION_PARAMS.test(param));
  if (refused !== undefined) return { ok: false, reason: `${suiteName}: session parameter ${refused.split('=')[0]?.slice(0, 40)} is not supported` };
  const master = new SrtpMasterKey(material.subarray(0, MASTER_KEY_BYTES), material.subarray(MASTER_KEY_BYTES));
  return { ok: true, crypto: { tag, suite, master, ...(lifetime !== undefined ? { lifetime } : {}) } };
}

/** A fresh random master key and salt for our side of the call. */
export function newSrtpMasterKey(): SrtpMasterKey {
  return new SrtpMasterKey(randomBytes(MASTER_KEY_BYTES), randomBytes(MASTER_SALT_BYTES));
}

/** Our `a=crypto` value: the offer's tag and suite, our own key. */
export function formatSdesCrypto(tag: string, suite: SrtpSuite, master: SrtpMasterKey): string {
  return `${tag} ${suite.name} inline:${master.concatenated.toString('base64')}`;
}
