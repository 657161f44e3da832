/**
 * Grandstream `cfg<mac>.xml` (GRP26xx / GXP series), XML provisioning format version 1.
 *
 * Sources: Grandstream "SIP Device Provisioning Guide" (the `<gs_provision version="1"><config
 * version="1">` envelope and the optional `<mac>` check); "GRP2600 Administration Guide" (dial plan
 * syntax: `{ a | b }`, "x+" one or more digits, backslash escapes "*"); the vendor's P-value config
 * template (GXP17xx/GRP config template, "Virtual Multi-Purpose Keys"): P271 account active, P270
 * account name, P47 SIP server, P130 SIP transport (0 UDP, 1 TCP, 2 TLS), P35 SIP user ID, P36
 * authenticate ID, P34 password, P3 display name, P48 outbound proxy, P290 dial plan; VPK 1-6 at
 * P1363/P1364 (mode/account, step 2) and P1465/P1466 (description/value, step 2) with line-VPK modes
 * (-1 none, 0 line, 10 speed dial, 11 BLF, 15 DialDTMF); VPK 7+ at P23800 onward in groups of four
 * (mode, account, description, value) with dynamic-VPK modes (-1 none, 0 speed dial, 1 BLF, 5 DialDTMF).
 * A VPK's account is 0-based (0 = account 1); dynamic VPKs must be contiguous, which writing every slot
 * guarantees.
 */
import { grandstreamAllowList, idleDialing } from './dialplan.ts';
import { keyCapacity } from './keys.ts';
import { CONTENT_TYPE_XML, type ProvisionedKey, type ProvisioningInput, type RenderedConfig, type SipTransport } from './model.ts';
import { PASSWORD_PLACEHOLDER } from './placeholders.ts';
import { XML_DECLARATION, escapeXml } from './xml.ts';

export function grandstreamFileNames(mac: string): string[] {
  return [`cfg${mac}.xml`];
}

const TRANSPORT: Record<SipTransport, number> = { udp: 0, tcp: 1, tls: 2 };

/** The firmware's default dial plan, restored when a desk leaves its idle restriction. */
export const GRANDSTREAM_DEFAULT_DIAL_PLAN = '{ x+ | \\+x+ | *x+ | *xx*x+ }';

const FIXED_VPKS = 6;
const FIXED_MODE: Record<ProvisionedKey['type'], number> = { empty: -1, line: 0, speeddial: 10, logout: 10, blf: 11, dtmf: 15 };
const DYNAMIC_MODE: Record<ProvisionedKey['type'], number> = { empty: -1, line: -1, speeddial: 0, logout: 0, blf: 1, dtmf: 5 };

interface VpkPValues {
  mode: number;
  account: number;
  description: number;
  value: number;
}

export function vpkPValues(slot: number): VpkPValues {
  if (slot <= FIXED_VPKS) {
    const step = 2 * (slot - 1);
    return { mode: 1363 + step, account: 1364 + step, description: 1465 + step, value: 1466 + step };
  }
  const base = 23800 + 4 * (slot - FIXED_VPKS - 1);
  return { mode: base, account: base + 1, description: base + 2, value: base + 3 };
}

export function renderGrandstream(input: ProvisioningInput): RenderedConfig {
  const { device, server, identity } = input;
  const body: string[] = [];
  const p = (n: number, value: string | number) => body.push(`    <P${n}>${escapeXml(String(value))}</P${n}>`);

  body.push(`    <!-- hotdesk-operator: ${identity.kind} configuration -->`);
  p(271, 1);
  p(270, identity.label);
  p(47, `${server.sipHost}:${server.sipPort}`);
  p(130, TRANSPORT[server.transport]);
  p(35, identity.username);
  p(36, identity.authUser);
  p(34, PASSWORD_PLACEHOLDER);
  p(3, identity.displayName);
  p(48, server.outboundProxy ?? '');
  p(290, identity.kind === 'idle' ? grandstreamAllowList(idleDialing(input)) : GRANDSTREAM_DEFAULT_DIAL_PLAN);

  const slots = Math.max(keyCapacity(device.vendor, device.model), input.keys.length);
  for (let slot = 1; slot <= slots; slot++) {
    const key = input.keys[slot - 1] ?? { type: 'empty', value: '', label: '' };
    const pv = vpkPValues(slot);
    p(pv.mode, (slot <= FIXED_VPKS ? FIXED_MODE : DYNAMIC_MODE)[key.type]);
    p(pv.account, 0);
    p(pv.description, key.label);
    p(pv.value, key.type === 'line' || key.type === 'empty' ? '' : key.value);
  }

  const content = [
    XML_DECLARATION,
    '<gs_provision version="1">',
    `  <mac>${device.mac}</mac>`,
    '  <config version="1">',
    ...body,
    '  </config>',
    '</gs_provision>',
    '',
  ].join('\n');
  return { vendor: 'grandstream', files: [{ name: `cfg${device.mac}.xml`, contentType: CONTENT_TYPE_XML, content }] };
}
