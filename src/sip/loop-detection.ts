/**
 * Loop detection for a stateful proxy (RFC 3261 §16.3 item 4, §16.6 item 8): the branch we add
 * carries a hash of the fields that identify the request before we touched it; if the request
 * comes back with one of our Vias holding the same hash, it is a loop rather than a spiral.
 */
import { createHash } from 'node:crypto';
import { getHeader, getHeaders, cseqOf, type SipRequest } from './message.ts';
import { tagOf } from './name-addr.ts';
import { branchOf, loopHashOfBranch, parseVia, type Via } from './via.ts';

export function computeLoopHash(request: SipRequest): string {
  const h = createHash('sha1');
  h.update(request.uri);
  h.update('\0');
  h.update(tagOf(getHeader(request, 'from')) ?? '');
  h.update('\0');
  h.update(tagOf(getHeader(request, 'to')) ?? '');
  h.update('\0');
  h.update(getHeader(request, 'call-id') ?? '');
  h.update('\0');
  h.update(String(cseqOf(request)?.seq ?? ''));
  h.update('\0');
  h.update(getHeaders(request, 'proxy-require').join(','));
  h.update('\0');
  h.update(getHeaders(request, 'proxy-authorization').join(','));
  return h.digest('hex').slice(0, 16);
}

/** True when a Via we inserted earlier carries the same loop hash as this request has now. */
export function isLooping(request: SipRequest, loopHash: string, isOwnVia: (via: Via) => boolean): boolean {
  for (const value of getHeaders(request, 'via')) {
    const via = parseVia(value);
    if (via === undefined || !isOwnVia(via)) continue;
    const branch = branchOf(via);
    if (branch !== undefined && loopHashOfBranch(branch) === loopHash) return true;
  }
  return false;
}

export type MaxForwardsDecision = { ok: true; value: number } | { ok: false };

/** RFC 3261 §16.3 item 3 / §16.6 item 3: absent → 70, 0 → reject with 483, else decrement. */
export function decrementMaxForwards(current: string | undefined): MaxForwardsDecision {
  if (current === undefined) return { ok: true, value: 69 };
  const n = Number(current.trim());
  if (!Number.isInteger(n) || n <= 0) return { ok: false };
  return { ok: true, value: Math.min(n, 256) - 1 };
}
