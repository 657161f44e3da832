/**
 * Yealink `<mac>.cfg` (T2/T3/T4/T5 series).
 *
 * Sources: "Yealink SIP-T2 Series/T4 Series/T5 Series/CP920 IP Phones Administrator Guide" (V84),
 * sections Account Settings, DSS Keys (linekey.X.type valid types: 11 DTMF, 13 Speed Dial, 15 Line,
 * 16 BLF), and "Dial Plan Defined by Digit Map" (account.X.dialplan.digitmap.*, no_match_action 1 =
 * "Forbidden Number"); "Yealink SIP-T4X IP Phones Auto Provisioning Guide" (the `#!version:1.0.0.1`
 * header and MAC-oriented files; `%NULL%` clears a value).
 *
 * Every key slot of the model is written, empty ones as N/A, so a previous occupant's keys never
 * survive a re-sync, and the occupied form switches the idle digit map off again.
 */
import { digitMapAllowList, idleDialing } from './dialplan.ts';
import { splitHostPort } from './hostport.ts';
import { keyCapacity } from './keys.ts';
import { CONTENT_TYPE_TEXT, type ProvisionedKey, type ProvisioningInput, type RenderedConfig, type SipTransport } from './model.ts';
import { PASSWORD_PLACEHOLDER } from './placeholders.ts';
import { singleLine } from './text.ts';

export function yealinkFileNames(mac: string): string[] {
  return [`${mac}.cfg`];
}

const TRANSPORT: Record<SipTransport, number> = { udp: 0, tcp: 1, tls: 2 };

const KEY_TYPE: Record<ProvisionedKey['type'], number> = {
  empty: 0,
  dtmf: 11,
  speeddial: 13,
  logout: 13,
  line: 15,
  blf: 16,
};

export function renderYealink(input: ProvisioningInput): RenderedConfig {
  const { device, server, identity } = input;
  const lines: string[] = ['#!version:1.0.0.1'];
  const setting = (key: string, value: string | number) => {
    const text = singleLine(String(value)).trim();
    lines.push(`${key} = ${text === '' ? '%NULL%' : text}`);
  };

  lines.push(`## hotdesk-operator: ${identity.kind} configuration of ${device.mac} (${singleLine(device.model)}, ${singleLine(device.location)})`);
  setting('account.1.enable', 1);
  setting('account.1.label', identity.label);
  setting('account.1.display_name', identity.displayName);
  setting('account.1.auth_name', identity.authUser);
  setting('account.1.user_name', identity.username);
  setting('account.1.password', PASSWORD_PLACEHOLDER);
  setting('account.1.sip_server.1.address', server.sipHost);
  setting('account.1.sip_server.1.port', server.sipPort);
  setting('account.1.sip_server.1.transport_type', TRANSPORT[server.transport]);

  if (server.outboundProxy) {
    const proxy = splitHostPort(server.outboundProxy, server.sipPort);
    setting('account.1.outbound_proxy_enable', 1);
    setting('account.1.outbound_host', proxy.host);
    setting('account.1.outbound_port', proxy.port);
  } else {
    setting('account.1.outbound_proxy_enable', 0);
    setting('account.1.outbound_host', '');
  }

  if (identity.kind === 'idle') {
    setting('account.1.dialplan.digitmap.enable', 1);
    setting('account.1.dialplan.digitmap.string', digitMapAllowList(idleDialing(input)));
    setting('account.1.dialplan.digitmap.no_match_action', 1);
  } else {
    setting('account.1.dialplan.digitmap.enable', 0);
  }

  const slots = Math.max(keyCapacity(device.vendor, device.model), input.keys.length);
  for (let n = 1; n <= slots; n++) {
    const key = input.keys[n - 1] ?? { type: 'empty', value: '', label: '' };
    setting(`linekey.${n}.type`, KEY_TYPE[key.type]);
    setting(`linekey.${n}.value`, key.type === 'line' ? '' : key.value);
    setting(`linekey.${n}.label`, key.label);
    setting(`linekey.${n}.line`, key.type === 'empty' ? '' : 1);
  }

  return {
    vendor: 'yealink',
    files: [{ name: `${device.mac}.cfg`, contentType: CONTENT_TYPE_TEXT, content: lines.join('\n') + '\n' }],
  };
}
