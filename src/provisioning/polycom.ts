/**
 * Polycom / Poly VVX (UC Software): a master configuration `<mac>.cfg` naming the per-phone file
 * `<mac>-phone.cfg`, which carries the settings as attributes of `<polycomConfig>` groups.
 *
 * Sources: "Polycom UC Software Administrator's Guide" (4.x/5.x): the master configuration file
 * (`<APPLICATION APP_FILE_PATH CONFIG_FILES ...>`), registration (reg.1.address, reg.1.auth.userId,
 * reg.1.auth.password, reg.1.displayName, reg.1.label, reg.1.outboundProxy.*), SIP server
 * (voIpProt.server.1.address/port/transport = UDPOnly | TCPOnly | TLS), Dial Plan (dialplan.digitmap
 * as in RFC 3435 section 2.1.5; dialplan.impossibleMatchHandling 1 = reorder tone, 2 = accumulate and
 * send manually), Busy Lamp Field (attendant.resourceList.N.address/label/type "normal"), Enhanced
 * Feature Keys (feature.enhancedFeatureKeys.enabled, efk.efklist.N.mname/status/label/action.string
 * with $Tinvite$ / $Tdtmf$) and flexible line key assignment (lineKey.reassignment.enabled,
 * lineKey.N.category = Line | BLF | EFK | Unassigned, lineKey.N.index).
 */
import { digitMapAllowList, idleDialing } from './dialplan.ts';
import { splitHostPort } from './hostport.ts';
import { keyCapacity } from './keys.ts';
import { CONTENT_TYPE_XML, type ProvisionedKey, type ProvisioningInput, type RenderedConfig, type SipTransport } from './model.ts';
import { PASSWORD_PLACEHOLDER } from './placeholders.ts';
import { XML_DECLARATION, escapeXml } from './xml.ts';

export function polycomFileNames(mac: string): string[] {
  return [`${mac}.cfg`, `${mac}-phone.cfg`];
}

const TRANSPORT: Record<SipTransport, string> = { udp: 'UDPOnly', tcp: 'TCPOnly', tls: 'TLS' };

type Attributes = [name: string, value: string | number][];

function group(tag: string, attributes: Attributes): string {
  const rendered = attributes.map(([name, value]) => `\n    ${name}="${escapeXml(String(value))}"`).join('');
  return `  <${tag}${rendered}/>`;
}

export function renderPolycom(input: ProvisioningInput): RenderedConfig {
  const { device, server, identity } = input;
  const phoneFile = `${device.mac}-phone.cfg`;

  const master = [
    '<?xml version="1.0" standalone="yes"?>',
    `<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="${escapeXml(phoneFile)}" MISC_FILES="" LOG_FILE_DIRECTORY="" OVERRIDES_DIRECTORY="" CONTACTS_DIRECTORY="" LICENSE_DIRECTORY="" USER_PROFILES_DIRECTORY="" CALL_LISTS_DIRECTORY="" COREFILE_DIRECTORY=""/>`,
    '',
  ].join('\n');

  const proxy = server.outboundProxy ? splitHostPort(server.outboundProxy, server.sipPort) : undefined;
  const reg: Attributes = [
    ['reg.1.address', `${identity.username}@${server.sipDomain}`],
    ['reg.1.auth.userId', identity.authUser],
    ['reg.1.auth.password', PASSWORD_PLACEHOLDER],
    ['reg.1.displayName', identity.displayName],
    ['reg.1.label', identity.label],
    ['reg.1.outboundProxy.address', proxy?.host ?? ''],
    ['reg.1.outboundProxy.port', proxy ? proxy.port : ''],
    ['reg.1.outboundProxy.transport', proxy ? TRANSPORT[server.transport] : ''],
  ];
  const voIpProt: Attributes = [
    ['voIpProt.server.1.address', server.sipHost],
    ['voIpProt.server.1.port', server.sipPort],
    ['voIpProt.server.1.transport', TRANSPORT[server.transport]],
  ];
  // Occupied: no digit map, so nothing is dialled early or refused; the user sends with the Dial key.
  const dialplan: Attributes = identity.kind === 'idle'
    ? [['dialplan.digitmap', digitMapAllowList(idleDialing(input))], ['dialplan.impossibleMatchHandling', 1]]
    : [['dialplan.digitmap', ''], ['dialplan.impossibleMatchHandling', 2]];

  const slots = Math.max(keyCapacity(device.vendor, device.model), input.keys.length);
  const attendant: Attributes = [];
  const efk: Attributes = [];
  const lineKey: Attributes = [['lineKey.reassignment.enabled', 1]];
  let blfIndex = 0;
  let efkIndex = 0;
  for (let n = 1; n <= slots; n++) {
    const key: ProvisionedKey = input.keys[n - 1] ?? { type: 'empty', value: '', label: '' };
    switch (key.type) {
      case 'line':
        lineKey.push([`lineKey.${n}.category`, 'Line'], [`lineKey.${n}.index`, 1]);
        break;
      case 'blf':
        blfIndex++;
        attendant.push(
          [`attendant.resourceList.${blfIndex}.address`, `${key.value}@${server.sipDomain}`],
          [`attendant.resourceList.${blfIndex}.label`, key.label],
          [`attendant.resourceList.${blfIndex}.type`, 'normal'],
        );
        lineKey.push([`lineKey.${n}.category`, 'BLF'], [`lineKey.${n}.index`, blfIndex]);
        break;
      case 'speeddial':
      case 'logout':
      case 'dtmf':
        efkIndex++;
        efk.push(
          [`efk.efklist.${efkIndex}.mname`, `hotdesk${efkIndex}`],
          [`efk.efklist.${efkIndex}.status`, 1],
          [`efk.efklist.${efkIndex}.label`, key.label],
          [`efk.efklist.${efkIndex}.action.string`, `${key.value}${key.type === 'dtmf' ? '$Tdtmf$' : '$Tinvite$'}`],
        );
        lineKey.push([`lineKey.${n}.category`, 'EFK'], [`lineKey.${n}.index`, efkIndex]);
        break;
      case 'empty':
        lineKey.push([`lineKey.${n}.category`, 'Unassigned'], [`lineKey.${n}.index`, 0]);
        break;
    }
  }
  // Clear the entries a previous occupant may have used beyond this layout's.
  for (let i = blfIndex + 1; i <= slots; i++) {
    attendant.push([`attendant.resourceList.${i}.address`, ''], [`attendant.resourceList.${i}.label`, '']);
  }
  for (let i = efkIndex + 1; i <= slots; i++) {
    efk.push([`efk.efklist.${i}.status`, 0]);
  }

  const phone = [
    XML_DECLARATION,
    `<!-- hotdesk-operator: ${identity.kind} configuration -->`,
    '<polycomConfig>',
    group('reg', reg),
    group('voIpProt', voIpProt),
    group('dialplan', dialplan),
    group('feature', [['feature.enhancedFeatureKeys.enabled', 1]]),
    group('attendant', attendant),
    group('efk', efk),
    group('lineKey', lineKey),
    '</polycomConfig>',
    '',
  ].join('\n');

  return {
    vendor: 'polycom',
    files: [
      { name: `${device.mac}.cfg`, contentType: CONTENT_TYPE_XML, content: master },
      { name: phoneFile, contentType: CONTENT_TYPE_XML, content: phone },
    ],
  };
}
