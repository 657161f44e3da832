/**
 * Phone provisioning: one pure renderer per vendor, producing the per-MAC file(s) a desk phone fetches
 * over HTTP, in the desk's idle or occupied form. See model.ts for the input, keys.ts for the key
 * policy, placeholders.ts for how secrets get in at serve time.
 */
import { createHash } from 'node:crypto';
import { customFileNames, renderCustom } from './custom.ts';
import { fanvilFileNames, renderFanvil } from './fanvil.ts';
import { grandstreamFileNames, renderGrandstream } from './grandstream.ts';
import { isNormalizedMac, type ProvisioningInput, type RenderedConfig, type Vendor } from './model.ts';
import { polycomFileNames, renderPolycom } from './polycom.ts';
import { renderSnom, snomFileNames } from './snom.ts';
import { renderYealink, yealinkFileNames } from './yealink.ts';

export type { ProvisioningInput, RenderedConfig, RenderedFile, Vendor } from './model.ts';

const RENDERERS: Record<Vendor, (input: ProvisioningInput) => RenderedConfig> = {
  yealink: renderYealink,
  grandstream: renderGrandstream,
  polycom: renderPolycom,
  snom: renderSnom,
  fanvil: renderFanvil,
  custom: renderCustom,
};

export function renderProvisioning(input: ProvisioningInput): RenderedConfig {
  if (!isNormalizedMac(input.device.mac)) {
    throw new Error(`device MAC must be 12 lowercase hex digits, got ${JSON.stringify(input.device.mac)}`);
  }
  const render = RENDERERS[input.device.vendor];
  if (!render) throw new Error(`no provisioning renderer for vendor ${JSON.stringify(input.device.vendor)}`);
  return render(input);
}

/**
 * A short, stable fingerprint of what the phone will receive (names, types and contents, in name
 * order), for HotDeskDevice status and for deciding whether a phone needs a re-sync. Placeholders are
 * hashed as placeholders, so rotating a password does not change it.
 */
export function revisionOf(rendered: RenderedConfig): string {
  const hash = createHash('sha256');
  const files = [...rendered.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const file of files) {
    for (const part of [file.name, file.contentType, file.content]) {
      hash.update(String(Buffer.byteLength(part))).update(':').update(part);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The file names a phone of this vendor requests, so the edge can map `GET /<name>` to a device.
 * Custom templates may name their file themselves (pattern with "{mac}").
 */
export function fileNamesFor(vendor: Vendor, mac: string, customFileName?: string): string[] {
  switch (vendor) {
    case 'yealink':
      return yealinkFileNames(mac);
    case 'grandstream':
      return grandstreamFileNames(mac);
    case 'polycom':
      return polycomFileNames(mac);
    case 'snom':
      return snomFileNames(mac);
    case 'fanvil':
      return fanvilFileNames(mac);
    case 'custom':
      return customFileNames(mac, customFileName);
  }
}

/**
 * The MAC a requested path names, for the usual per-MAC patterns (`<mac>.cfg`, `cfg<mac>.xml`,
 * `<mac>-phone.cfg`, `<mac>.xml`), case-insensitive; undefined for shared files such as
 * `y000000000028.cfg`. The edge still checks the name against fileNamesFor of that device.
 */
export function macFromRequestPath(path: string): string | undefined {
  const base = path.split('?')[0]?.split('/').pop() ?? '';
  const match = /^(?:cfg)?([0-9a-fA-F]{12})(?:-phone)?\.(?:cfg|xml)$/.exec(base);
  const mac = match?.[1]?.toLowerCase();
  return mac && mac !== '000000000000' ? mac : undefined;
}

export { fillPlaceholders, placeholdersIn, PASSWORD_PLACEHOLDER, PlaceholderError } from './placeholders.ts';
export { planKeys, keyCapacity, describeDropped, type KeyPlan, type KeyPolicy } from './keys.ts';
export { ProvisioningTemplateError } from './custom.ts';
