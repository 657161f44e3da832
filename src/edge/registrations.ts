import { getHeader, getHeaders, type SipRequest, type SipResponse } from '../sip/message.ts';
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

/**
 * Whether a REGISTER removes the phone's bindings rather than adding or refreshing one (RFC 3261
 * §10.2.2): `Contact: *`, or every Contact expiring at 0, by its own parameter or by Expires.
 */
export function isRemoval(request: SipRequest): boolean {
  const contacts = getHeaders(request, 'contact');
  if (contacts.length === 0) return false;
  if (contacts.some((c) => c.trim() === '*')) return true;
  const expires = getHeader(request, 'expires')?.trim();
  return contacts.every((c) => {
    const own = tryParseNameAddr(c)?.params.expires;
    const value = own ?? expires;
    return value !== undefined && value !== null && Number(value) === 0;
  });
}

/** How many registered flows a device may hold at once (lines on one phone, a phone that moved). */
export const FLOWS_PER_DEVICE = 4;

/** A registered UDP flow with a binding still current (NAT keep-alives go there). */
export interface RegisteredUdpFlow {
  /** The flow's key (request-context.ts flowKey), as IncomingRequest.flow names it. */
  flow: string;
  /** Where its packets go: the address and port its REGISTER came from. */
  peer: { address: string; port: number };
  /** When the last of its bindings expires: a new value means the phone registered again. */
  expiresAt: number;
}

interface FlowEntry {
  device: string;
  /** Where the flow's packets go: the transport, address and port its REGISTER came from. */
  peer: SipAddress;
  /** Registered identity → when its binding expires, and the phone's own Contact URI for it. */
  identities: Map<string, { expiresAt: number; contact: string }>;
}

/**
 * In-memory bindings per device; device status keeps a copy so a restarted edge starts warm. Each
 * REGISTER the PBX accepted also proves its flow: requests arriving on it act for that device.
 * Flows are never restored from status: a flow this process did not see register proves nothing.
 */
export class RegistrationTable {
  readonly #byDevice = new Map<string, Registration>();
  readonly #byFlow = new Map<string, FlowEntry>();
  /** Flows per device, oldest first, so the table stays bounded by the pool's devices. */
  readonly #flowsOfDevice = new Map<string, string[]>();

  get(device: string, now: number = Date.now()): Registration | undefined {
    const r = this.#byDevice.get(device);
    if (r && r.expiresAt <= now) {
      this.#byDevice.delete(device);
      return undefined;
    }
    return r;
  }

  /** Stores the binding; returns true when identity or contact changed (worth writing to status). */
  record(reg: Registration, flow?: string): boolean {
    const before = this.#byDevice.get(reg.device);
    this.#byDevice.set(reg.device, reg);
    if (flow !== undefined) this.#recordFlow(flow, reg.device, reg.source, reg.identity, reg.expiresAt, reg.contact);
    return !before || before.identity !== reg.identity || before.contact !== reg.contact;
  }

  remove(device: string): void {
    this.#byDevice.delete(device);
  }

  /** The phone removed its binding for `identity` from this flow (REGISTER with expires=0). */
  removeFlowIdentity(flow: string, identity: string): void {
    const entry = this.#byFlow.get(flow);
    if (!entry) return;
    entry.identities.delete(identity);
    if (entry.identities.size === 0) this.#dropFlow(flow);
  }

  /** The device a flow registered for and the identities still bound on it; undefined when none. */
  flow(flow: string, now: number = Date.now()): { device: string; identities: string[] } | undefined {
    const entry = this.#byFlow.get(flow);
    if (!entry) return undefined;
    for (const [identity, binding] of entry.identities) if (binding.expiresAt <= now) entry.identities.delete(identity);
    if (entry.identities.size === 0) {
      this.#dropFlow(flow);
      return undefined;
    }
    return { device: entry.device, identities: [...entry.identities.keys()] };
  }

  /** The phone's own Contact URI of its binding for `identity` on a flow (to restore a Request-URI). */
  flowContact(flow: string, identity: string, now: number = Date.now()): string | undefined {
    const binding = this.#byFlow.get(flow)?.identities.get(identity);
    return binding && binding.expiresAt > now ? binding.contact : undefined;
  }

  /** Registered flows over UDP with a binding still current, and when the last of them expires (NAT keep-alives go there). */
  udpFlows(now: number = Date.now()): RegisteredUdpFlow[] {
    const flows: RegisteredUdpFlow[] = [];
    for (const [flow, entry] of this.#byFlow) {
      if (entry.peer.transport !== 'udp') continue;
      let expiresAt = 0;
      for (const binding of entry.identities.values()) expiresAt = Math.max(expiresAt, binding.expiresAt);
      if (expiresAt > now) flows.push({ flow, peer: { address: entry.peer.address, port: entry.peer.port }, expiresAt });
    }
    return flows;
  }

  /** Registered flows held (bounded by FLOWS_PER_DEVICE per device). */
  get flowCount(): number {
    return this.#byFlow.size;
  }

  /** `peer`: where the REGISTER that proved the flow came from (the flow's own transport, address and port). */
  #recordFlow(flow: string, device: string, peer: SipAddress, identity: string, expiresAt: number, contact: string): void {
    let entry = this.#byFlow.get(flow);
    // A flow that registered for another desk (an address reused behind a NAT) now proves this one.
    if (entry && entry.device !== device) {
      this.#dropFlow(flow);
      entry = undefined;
    }
    if (!entry) {
      entry = { device, peer, identities: new Map() };
      this.#byFlow.set(flow, entry);
      const flows = [...(this.#flowsOfDevice.get(device) ?? []), flow];
      this.#flowsOfDevice.set(device, flows);
      for (const oldest of flows.slice(0, Math.max(0, flows.length - FLOWS_PER_DEVICE))) this.#dropFlow(oldest);
    }
    entry.identities.set(identity, { expiresAt, contact });
  }

  #dropFlow(flow: string): void {
    const entry = this.#byFlow.get(flow);
    if (!entry) return;
    this.#byFlow.delete(flow);
    const flows = this.#flowsOfDevice.get(entry.device)?.filter((f) => f !== flow) ?? [];
    if (flows.length > 0) this.#flowsOfDevice.set(entry.device, flows);
    else this.#flowsOfDevice.delete(entry.device);
  }
}
