/**
 * What the edge changes in a phone's REGISTER so the PBX's requests for the phone come back through
 * the edge, on the phone's own flow (the pool's pbx.phoneRouting):
 *
 * - path: the phone's Contact stays; a Path header (RFC 3327) names the edge with the flow token,
 *   and the registrar routes requests for the binding through it.
 * - contact: every Contact URI becomes the edge's URI with the flow token as its user part (the
 *   Contact's parameters, such as expires, +sip.instance and reg-id, stay), and the 2xx goes back
 *   to the phone with its own Contact URIs in place of the edge's, so it sees its own bindings.
 */
import { getHeaders, type SipRequest, type SipResponse } from '../sip/message.ts';
import { serializeNameAddr, tryParseNameAddr } from '../sip/name-addr.ts';
import { tryParseUri, type SipUri } from '../sip/uri.ts';

export type PhoneRouting = 'contact' | 'path';

/** One Contact the edge rewrote: the phone's URI as it sent it and the edge's URI that replaced it. */
export interface ContactRewrite {
  phone: string;
  edge: string;
}

export interface RegisterChanges {
  remove: string[];
  add: Array<[string, string]>;
  /** Contact mode: the URIs replaced, to put back in the 2xx. */
  rewrites: ContactRewrite[];
}

/**
 * Header changes for a phone's REGISTER on its way to the PBX. `edgeUri` is the edge's SIP URI
 * towards the PBX with the flow token as user part (`sip:TOKEN@edge:5060;transport=tcp`).
 */
export function registerChanges(request: SipRequest, mode: PhoneRouting, edgeUri: string): RegisterChanges {
  if (mode === 'path') {
    const add: Array<[string, string]> = [['path', `<${edgeUri};lr;ob>`]];
    const supported = getHeaders(request, 'supported').flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase());
    if (!supported.includes('path')) add.push(['supported', 'path']);
    return { remove: [], add, rewrites: [] };
  }
  const contacts = getHeaders(request, 'contact');
  const edge = tryParseUri(edgeUri);
  if (contacts.length === 0 || edge === undefined) return { remove: [], add: [], rewrites: [] };
  const rewrites: ContactRewrite[] = [];
  const add = contacts.map((value): [string, string] => {
    const contact = value.trim() === '*' ? undefined : tryParseNameAddr(value);
    // `*` (remove every binding) names no URI; an unreadable Contact goes as it is, for the
    // registrar to refuse.
    if (contact === undefined) return ['contact', value];
    rewrites.push({ phone: uriText(value), edge: edgeUri });
    return ['contact', serializeNameAddr({ ...contact, uri: edge })];
  });
  return { remove: ['contact'], add, rewrites };
}

/** The URI inside a Contact value as written (`<sip:...>;expires=60` or a bare `sip:...;expires=60`). */
function uriText(contact: string): string {
  const lt = contact.indexOf('<');
  return lt >= 0 ? contact.slice(lt + 1, contact.indexOf('>', lt)) : contact.split(';')[0]!.trim();
}

function sameUri(a: SipUri, b: SipUri): boolean {
  return a.user === b.user && a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? 5060) === (b.port ?? 5060);
}

/**
 * The registrar's 2xx lists the edge's Contact for this phone: put the phone's own URI back in
 * each one (keeping the registrar's parameters, its expires above all). Other edge Contacts it
 * lists (the same phone's binding from an older flow) get what `earlierBinding` knows of them;
 * bindings the registrar has from elsewhere stay as it wrote them. Changes `response` in place.
 */
export function restoreContacts(response: SipResponse, rewrites: readonly ContactRewrite[], earlierBinding: (edgeUri: SipUri) => string | undefined = () => undefined): void {
  const parsed = rewrites.map((r) => ({ edge: tryParseUri(r.edge), phone: tryParseUri(r.phone) }));
  for (const header of response.headers) {
    if (header.name !== 'contact') continue;
    const listed = tryParseNameAddr(header.value);
    if (listed === undefined) continue;
    const match = parsed.find((r) => r.edge !== undefined && r.phone !== undefined && sameUri(r.edge, listed.uri));
    const phone = match?.phone ?? tryParseUri(earlierBinding(listed.uri) ?? '');
    if (phone) header.value = serializeNameAddr({ ...listed, uri: phone });
  }
}
