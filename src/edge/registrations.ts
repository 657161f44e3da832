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

/** The binding a successful REGISTER response confirms; undefined when it removed the binding. */
export function bindingFromResponse(response: SipResponse, source: SipAddress, now: number): { identity: string; contact: string; source: SipAddress; expiresAt: number } | undefined {
  const to = tryParseNameAddr(getHeader(response, 'to'));
  const identity = to?.uri.user;
  const contactHeader = getHeaders(response, 'contact')[0];
  const contact = tryParseNameAddr(contactHeader);
  if (!identity || !contact) return undefined;
  const expires = Number(contact.params.expires ?? getHeader(response, 'expires') ?? 3600);
  if (!Number.isFinite(expires) || expires <= 0) return undefined;
  const uri = contactHeader!.includes('<') ? contactHeader!.slice(contactHeader!.indexOf('<') + 1, contactHeader!.indexOf('>')) : contactHeader!.split(';')[0]!.trim();
  return { identity, contact: uri, source, expiresAt: now + expires * 1000 };
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
