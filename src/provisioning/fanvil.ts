/**
 * Fanvil X-series `<mac>.cfg` in the sectioned text format.
 *
 * Sources: "Fanvil VoIP Auto Provision Standard" (file header `<<VOIP CONFIG FILE>>Version:...`,
 * modules `<SIP CONFIG MODULE>` with `--SIP Line List--`, `<DSSKEY CONFIG MODULE>`, end marker
 * `<<END OF FILE>>`); Fanvil configuration exports for the X series (SIP1 Phone Number, SIP1 Display
 * Name, SIP1 Register Addr/Port/User/Pswd, SIP1 Enable Reg, SIP1 Proxy Addr/Port, SIP1 Transport
 * 0 UDP / 1 TCP / 2 TLS; DSS keys `FkeyN Type/Value/Title` with Type 0 none, 1 memory key whose value is
 * `number@line/f` for speed dial and `number@line/ba` for BLF, 2 line (`SIP1`), 4 DTMF).
 *
 * The format has no dial plan that refuses numbers, so an idle Fanvil gets no phone-side restriction;
 * the edge refuses everything but emergency numbers and the login code.
 */
import { splitHostPort } from './hostport.ts';
import { keyCapacity } from './keys.ts';
import { CONTENT_TYPE_TEXT, type ProvisionedKey, type ProvisioningInput, type RenderedConfig, type SipTransport } from './model.ts';
import { PASSWORD_PLACEHOLDER } from './placeholders.ts';
import { singleLine } from './text.ts';

export function fanvilFileNames(mac: string): string[] {
  return [`${mac}.cfg`];
}

const TRANSPORT: Record<SipTransport, number> = { udp: 0, tcp: 1, tls: 2 };

function dssKey(key: ProvisionedKey): { type: number; value: string } {
  switch (key.type) {
    case 'line':
      return { type: 2, value: 'SIP1' };
    case 'blf':
      return { type: 1, value: `${key.value}@1/ba` };
    case 'speeddial':
    case 'logout':
      return { type: 1, value: `${key.value}@1/f` };
    case 'dtmf':
      return { type: 4, value: key.value };
    case 'empty':
      return { type: 0, value: '' };
  }
}

export function renderFanvil(input: ProvisioningInput): RenderedConfig {
  const { device, server, identity } = input;
  const lines: string[] = ['<<VOIP CONFIG FILE>>Version:2.0000000000', ''];
  // Fanvil pads names to a fixed column with spaces before the colon; the parser splits on the first ':'.
  const setting = (name: string, value: string | number) => lines.push(`${name.padEnd(19)}:${singleLine(String(value))}`);

  const proxy = server.outboundProxy ? splitHostPort(server.outboundProxy, server.sipPort) : undefined;
  lines.push('<SIP CONFIG MODULE>');
  setting('--SIP Line List--', '');
  setting('SIP1 Phone Number', identity.username);
  setting('SIP1 Display Name', identity.displayName);
  setting('SIP1 Sip Name', identity.label);
  setting('SIP1 Register Addr', server.sipHost);
  setting('SIP1 Register Port', server.sipPort);
  setting('SIP1 Register User', identity.authUser);
  setting('SIP1 Register Pswd', PASSWORD_PLACEHOLDER);
  setting('SIP1 Enable Reg', 1);
  setting('SIP1 Proxy Addr', proxy?.host ?? '');
  setting('SIP1 Proxy Port', proxy?.port ?? '');
  setting('SIP1 Transport', TRANSPORT[server.transport]);
  lines.push('');

  lines.push('<DSSKEY CONFIG MODULE>');
  setting('--Dsskey Config1--', '');
  const slots = Math.max(keyCapacity(device.vendor, device.model), input.keys.length);
  for (let n = 1; n <= slots; n++) {
    const key = input.keys[n - 1] ?? { type: 'empty', value: '', label: '' };
    const dss = dssKey(key);
    setting(`Fkey${n} Type`, dss.type);
    setting(`Fkey${n} Value`, dss.value);
    setting(`Fkey${n} Title`, key.label);
  }
  lines.push('', '<<END OF FILE>>', '');

  return {
    vendor: 'fanvil',
    files: [{ name: `${device.mac}.cfg`, contentType: CONTENT_TYPE_TEXT, content: lines.join('\r\n') }],
  };
}
