/**
 * OPTIONS meant for the proxy itself (RFC 3261 §11, §16.3 step 2): a phone or a load balancer
 * checking that the edge is up, not a question for the PBX. Answered locally with what a UA
 * would tell: the methods we pass, the bodies we read, the extensions we support (none).
 */
import { getHeader, type SipRequest, type SipResponse } from './message.ts';
import { buildResponse } from './response-builder.ts';
import { isOwnUri, type LocalIdentity } from './routing.ts';
import { tryParseUri } from './uri.ts';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REGISTER, SUBSCRIBE, REFER, MESSAGE, UPDATE, PRACK';

/**
 * An out-of-dialog OPTIONS is ours when its Request-URI names us without a user part, or when it
 * could go at most one hop further (Max-Forwards 0 or 1: the keepalive probes phones and SBCs
 * send, which §16.3 lets the proxy answer as the final recipient).
 */
export function isOptionsToSelf(request: SipRequest, identity: LocalIdentity): boolean {
  if (request.method !== 'OPTIONS') return false;
  const maxForwards = getHeader(request, 'max-forwards')?.trim();
  if (maxForwards === '0' || maxForwards === '1') return true;
  const uri = tryParseUri(request.uri);
  return uri !== undefined && uri.user === undefined && isOwnUri(uri, identity);
}

export function optionsAnswer(request: SipRequest, toTag: string): SipResponse {
  return buildResponse(request, 200, {
    toTag,
    headers: [['allow', ALLOW], ['accept', 'application/sdp'], ['supported', '']],
  });
}
