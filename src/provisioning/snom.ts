/**
 * Snom D-series `<mac>.xml` settings file.
 *
 * Sources: Snom service wiki "Desk Phone Configuration Files" (the `<settings><phone-settings>` and
 * `<functionKeys>` sections; settings written as `<user_realname idx="1" perm="">`, the current form of
 * the older `user_realname1` names: same setting, index as an attribute); the wiki's per-setting pages
 * user_realname, user_name, user_pname (authentication user), user_pass, user_host, user_outbound,
 * user_active; "snom D7 User Manual", "XML provisioning of settings" (`<fkey idx="n" context="1"
 * label="..." perm="">argument</fkey>`, arguments `line`, `dest`/`blf <sip:...>`, `speed`, `dtmf`,
 * `none`; perm="" lets provisioning overwrite the key on every fetch).
 *
 * Snom's dial plan (`<dialplan>` templates) completes numbers but does not refuse them, so an idle Snom
 * gets no phone-side restriction; the edge refuses everything but emergency numbers and the login code.
 */
import { keyCapacity } from './keys.ts';
import { CONTENT_TYPE_XML, type ProvisionedKey, type ProvisioningInput, type RenderedConfig } from './model.ts';
import { PASSWORD_PLACEHOLDER } from './placeholders.ts';
import { XML_DECLARATION, escapeXml } from './xml.ts';

export function snomFileNames(mac: string): string[] {
  return [`${mac}.xml`];
}

function fkeyArgument(key: ProvisionedKey, domain: string): string {
  switch (key.type) {
    case 'line':
      return 'line';
    case 'blf':
      return `blf <sip:${key.value}@${domain}>`;
    case 'speeddial':
    case 'logout':
      return `speed ${key.value}`;
    case 'dtmf':
      return `dtmf ${key.value}`;
    case 'empty':
      return 'none';
  }
}

export function renderSnom(input: ProvisioningInput): RenderedConfig {
  const { device, server, identity } = input;
  const setting = (name: string, value: string) => `    <${name} idx="1" perm="">${escapeXml(value)}</${name}>`;
  const transport = server.transport === 'udp' ? '' : `;transport=${server.transport}`;

  const settings = [
    setting('user_active', 'on'),
    setting('user_realname', identity.displayName),
    setting('user_name', identity.username),
    setting('user_pname', identity.authUser),
    setting('user_pass', PASSWORD_PLACEHOLDER),
    setting('user_host', `${server.sipHost}:${server.sipPort}${transport}`),
    setting('user_outbound', server.outboundProxy ? `${server.outboundProxy}${transport}` : ''),
    setting('user_idle_text', identity.label),
  ];

  const slots = Math.max(keyCapacity(device.vendor, device.model), input.keys.length);
  const fkeys: string[] = [];
  for (let i = 0; i < slots; i++) {
    const key = input.keys[i] ?? { type: 'empty', value: '', label: '' };
    fkeys.push(`    <fkey idx="${i}" context="1" label="${escapeXml(key.label)}" perm="">${escapeXml(fkeyArgument(key, server.sipDomain))}</fkey>`);
  }

  const content = [
    XML_DECLARATION,
    `<!-- hotdesk-operator: ${identity.kind} configuration -->`,
    '<settings>',
    '  <phone-settings e="2">',
    ...settings,
    '  </phone-settings>',
    '  <functionKeys e="2">',
    ...fkeys,
    '  </functionKeys>',
    '</settings>',
    '',
  ].join('\n');
  return { vendor: 'snom', files: [{ name: `${device.mac}.xml`, contentType: CONTENT_TYPE_XML, content }] };
}
