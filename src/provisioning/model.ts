/**
 * The input every provisioning renderer takes, independent of the CRDs: the reconciler maps a
 * HotDeskDevice, its pool, and the occupant (or the idle identity) onto it. Nothing secret is part of
 * it: the SIP password is represented in the rendered files by a placeholder the edge fills in when
 * it serves the file (see placeholders.ts), and the PIN never reaches a phone at all.
 */

export const VENDORS = ['yealink', 'grandstream', 'polycom', 'snom', 'fanvil', 'custom'] as const;
export type Vendor = (typeof VENDORS)[number];

export type SipTransport = 'udp' | 'tcp' | 'tls';

export interface ProvisionedDevice {
  /** 12 lowercase hex digits, no separators (see normalizeMac). */
  mac: string;
  vendor: Vendor;
  /** The vendor's model name as the admin wrote it, e.g. "T54W", "VVX 450"; drives the key count. */
  model: string;
  /** The desk's location label, carried for emergency calls and shown where a vendor has room for it. */
  location: string;
  /** Free-form admin options; only custom templates read them. */
  options: Record<string, string>;
}

export interface ProvisionedServer {
  /** Where the phone sends REGISTER (the pool's edge, or the PBX directly). */
  sipHost: string;
  sipPort: number;
  transport: SipTransport;
  /** The domain of the phone's address-of-record and of the BLF URIs it subscribes to. */
  sipDomain: string;
  /** An SBC or proxy the phone must route every request through, "host" or "host:port". */
  outboundProxy?: string;
  /** The URL the phone fetches its configuration from (used for re-sync settings and templates). */
  provisioningUrl: string;
}

export interface ProvisionedIdentity {
  /** idle: the desk's own HDxxxx account, emergency calls only; occupied: a user's extension. */
  kind: 'idle' | 'occupied';
  /** The SIP user part of the address-of-record. */
  username: string;
  /** The digest authentication user, often the same as username. */
  authUser: string;
  displayName: string;
  /** Short text for the line key / screen header. */
  label: string;
  extension?: string;
}

export const KEY_TYPES = ['blf', 'speeddial', 'line', 'logout', 'dtmf', 'empty'] as const;
/**
 * `empty` is an explicitly unused slot: it lets a policy place a key at a fixed position (e.g. the
 * logout key on the last key) and makes every renderer clear that slot on the phone.
 */
export type KeyType = (typeof KEY_TYPES)[number];

export interface ProvisionedKey {
  type: KeyType;
  /** blf: the extension watched; speeddial/logout: the number dialled; dtmf: digits; line/empty: "". */
  value: string;
  label: string;
}

export interface FeatureCodes {
  /** Dialled by the logout key, e.g. "*77*5*". */
  logout: string;
  /**
   * The login code's fixed prefix, e.g. "*77*" (3CX) or "*93" (Yeastar). An idle phone's dial plan must
   * let it through as well as the emergency numbers, or nobody could log in at that desk.
   */
  login?: string;
}

export interface CustomTemplate {
  /** Mustache template text (logic-less), see custom.ts for the view it gets. */
  template: string;
  /** The served file's name; "{mac}" is replaced by the device's MAC. Default "{mac}.cfg". */
  fileName?: string;
  /** Default "text/plain". An XML content type makes values XML-escaped. */
  contentType?: string;
}

export interface ProvisioningInput {
  device: ProvisionedDevice;
  server: ProvisionedServer;
  identity: ProvisionedIdentity;
  /** Already final (see keys.ts planKeys): position i is the phone's key i+1. */
  keys: readonly ProvisionedKey[];
  emergencyNumbers: readonly string[];
  featureCodes: FeatureCodes;
  /** Only for vendor "custom". */
  customTemplate?: CustomTemplate;
}

export interface RenderedFile {
  name: string;
  contentType: string;
  content: string;
}

export interface RenderedConfig {
  vendor: Vendor;
  files: RenderedFile[];
}

export const CONTENT_TYPE_TEXT = 'text/plain; charset=utf-8';
export const CONTENT_TYPE_XML = 'application/xml; charset=utf-8';

const MAC_PATTERN = /^[0-9a-f]{12}$/;

/** Accepts "00:15:65:12:34:AB", "0015.6512.34ab", "001565-1234ab"... and returns "0015651234ab". */
export function normalizeMac(raw: string): string {
  const mac = raw.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (!MAC_PATTERN.test(mac)) throw new Error(`not a MAC address: ${JSON.stringify(raw)}`);
  return mac;
}

export function isNormalizedMac(mac: string): boolean {
  return MAC_PATTERN.test(mac);
}

export function isVendor(value: string): value is Vendor {
  return (VENDORS as readonly string[]).includes(value);
}
