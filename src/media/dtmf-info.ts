/**
 * DTMF carried in SIP INFO requests, the fallback for phones configured for "SIP INFO" DTMF instead
 * of RFC 4733. Two body formats are in use: application/dtmf-relay ("Signal=5\r\nDuration=160",
 * Cisco's convention, the most common) and application/dtmf (the bare key). Pure.
 */
import { DTMF_KEYS, isDtmfKey, type DtmfKey } from './dtmf.ts';

/** Some phones send the event number (10 for "*", 11 for "#") instead of the key itself. */
function keyOfSignal(signal: string): DtmfKey | undefined {
  const value = signal.trim().toUpperCase();
  if (isDtmfKey(value)) return value;
  if (/^1[0-5]$/.test(value)) return DTMF_KEYS[Number(value)] as DtmfKey;
  return undefined;
}

/** The key an INFO body carries, or undefined when the body is not a DTMF body we understand. */
export function parseDtmfInfo(contentType: string, body: string): DtmfKey | undefined {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/dtmf-relay') {
    for (const line of body.split(/\r?\n/)) {
      const match = /^\s*signal\s*=\s*(\S+)\s*$/i.exec(line);
      if (match) return keyOfSignal(match[1] ?? '');
    }
    return undefined;
  }
  if (mediaType === 'application/dtmf') return keyOfSignal(body);
  return undefined;
}
