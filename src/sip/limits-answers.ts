/**
 * The answers the SIP core gives when a limit is reached, built from what arrived. Pure: the
 * proxy sends them.
 */
import { getHeader, replaceFirstHeader, type SipRequest, type SipResponse } from './message.ts';
import { parseMessage } from './parser.ts';
import { buildResponse } from './response-builder.ts';
import type { SipAddress } from './transport.ts';
import { parseVia, serializeVia, stampReceived } from './via.ts';

/**
 * 513 Message Too Large (RFC 3261 §18.1.2, §21.5.14) for a stream message whose complete head
 * declares a body beyond the limit; undefined when the head is not a request we can answer.
 */
export function messageTooLargeAnswer(head: Buffer, source: SipAddress, maxHeaders: number, toTag: string): SipResponse | undefined {
  // The head alone, with the body it announces missing: parsed leniently, as a datagram.
  const parsed = parseMessage(head, { framing: 'datagram', limits: { maxMessageBytes: head.length, maxHeaders } });
  const request = parsed.ok ? parsed.message : parsed.error.partial;
  if (request?.kind !== 'request' || request.method === 'ACK') return undefined;
  const topVia = getHeader(request, 'via');
  const via = topVia === undefined ? undefined : parseVia(topVia);
  if (via === undefined || getHeader(request, 'call-id') === undefined || getHeader(request, 'cseq') === undefined) return undefined;
  replaceFirstHeader(request, 'via', serializeVia(stampReceived(via, source.address, source.port)));
  return buildResponse(request, 513, { toTag });
}

/** 503 with Retry-After for a request that finds the transaction budget spent (RFC 3261 §21.5.4). */
export function overloadAnswer(request: SipRequest, retryAfterSeconds: number, toTag: string): SipResponse {
  return buildResponse(request, 503, { reason: 'Overloaded', toTag, headers: [['Retry-After', String(retryAfterSeconds)]] });
}
