import { getHeader, getHeaders, type SipResponse } from '../sip/message.ts';
import { tryParseNameAddr } from '../sip/name-addr.ts';
import type { SipAddress } from '../sip/transport.ts';

/** A phone's binding as the edge last saw it pass through to the PBX. */
export interface Registration {
  device: string;
  /** The account it registered as: the idle account or the occupant's extension. */
  identity: string;
  contact: string;
  /** Where the REGISTER came from: NOTIFYs go back there, through the phone's NAT. */
  source: SipAddress;
  expiresAt: number;
}

/** The URI inside a Contact value (`<sip:...>;expires=60` or a bare `sip:...;expires=60`). */
function contactUriText(contact: string): string {
  return contact.includes('<') ? contact.slice(contact.indexOf('<') + 1, contact.indexOf('>')) : contact.split(';')[0]!.trim();
}

function sameBinding(a: string, b: string): boolean {
  const x = tryParseNameAddr(a)?.uri;
  const y = tryParseNameAddr(b)?.uri;
  if (!x || !y) return contactUriText(a) === contactUriText(b);
  return x.user === y.user && x.host.toLowerCase() === y.host.toLowerCase() && (x.port ?? 5060) === (y.port ?? 5060);
}

/**
 * The binding a successful REGISTER response confirms; undefined when it removed the binding.
 * The registrar's 200 lists every binding of the address of record (an older one of the same phone,
 * other phones), so the phone's own is the one matching the Contact it sent.
 */
export function bindingFromResponse(response: SipResponse, source: SipAddress, now: number, requestContact?: string): { identity: string; contact: string; source: SipAddress; expiresAt: number } | undefined {
  const to = tryParseNameAddr(getHeader(response, 'to'));
  const identity = to?.uri.user;
  const listed = getHeaders(response, 'contact');
  const sent = requestContact !== undefined && requestContact.trim() !== '*' ? tryParseNameAddr(requestContact) : undefined;
  // No match: a registrar that rewrites contacts; the first is the best guess unless the phone was
  // removing its binding.
  const contactHeader = (sent && listed.find((c) => sameBinding(c, requestContact!))) ?? (sent?.params.expires === '0' ? undefined : listed[0]);
  const contact = tryParseNameAddr(contactHeader);
  if (!identity || !contact) return undefined;
  const expires = Number(contact.params.expires ?? getHeader(response, 'expires') ?? 3600);
  if (!Number.isFinite(expires) || expires <= 0) return undefined;
  return { identity, contact: contactUriText(contactHeader!), source, expiresAt: now + expires * 1000 };
}

/** In-memory bindings per device; device status keeps a copy so a restarted edge starts warm. */
export class RegistrationTable {
  readonly #byDevice = new Map<string, Registration>();

  get(device: string, now: number = Date.now()): Registration | undefined {
    const r = this.#byDevice.get(device);
    if (r && r.expiresAt <= now) {
      this.#byDevice.delete(device);
      return undefined;
    }
    return r;
  }

  /** Stores the binding; returns true when identity or contact changed (worth writing to status). */
  record(reg: Registration): boolean {
    const before = this.#byDevice.get(reg.device);
    this.#byDevice.set(reg.device, reg);
    return !before || before.identity !== reg.identity || before.contact !== reg.contact;
  }

  remove(device: string): void {
    this.#byDevice.delete(device);
  }
}
