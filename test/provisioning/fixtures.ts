import { planKeys, keyCapacity } from '../../src/provisioning/keys.ts';
import type { ProvisioningInput, ProvisionedKey, Vendor } from '../../src/provisioning/model.ts';

export const SAMPLE_MODELS: Record<Vendor, string> = {
  yealink: 'T33G',
  grandstream: 'GRP2614',
  polycom: 'VVX 450',
  snom: 'D785',
  fanvil: 'X6U',
  custom: 'AnyPhone 1',
};

export const SAMPLE_MACS: Record<Vendor, string> = {
  yealink: '0015651234ab',
  grandstream: '000b82aabbcc',
  polycom: '0004f2112233',
  snom: '000413445566',
  fanvil: '0c383e778899',
  custom: '00a0bc010203',
};

export const USER_KEYS: ProvisionedKey[] = [
  { type: 'blf', value: '102', label: 'Anna' },
  { type: 'speeddial', value: '004930123456', label: 'Reception' },
  { type: 'dtmf', value: '*1', label: 'Door' },
  { type: 'blf', value: '105', label: 'Ops & Support' },
  { type: 'line', value: '', label: '' },
];

export const CUSTOM_TEMPLATE = [
  '# {{identity.kind}} desk {{device.mac}} at {{device.location}} ({{device.options.floor}})',
  'sip.server = {{server.sipHost}}:{{server.sipPort}};transport={{server.transport}}',
  'sip.user = {{identity.username}}',
  'sip.auth = {{identity.authUser}}',
  'sip.password = {{password}}',
  'sip.name = {{identity.displayName}}',
  '{{#identity.idle}}dial.allow = {{#emergencyNumbers}}{{.}} {{/emergencyNumbers}}{{featureCodes.login}}{{/identity.idle}}',
  '{{#keys}}key.{{index}} = {{type}} {{value}} {{label}}',
  '{{/keys}}',
].join('\n');

export function sampleInput(vendor: Vendor, kind: 'idle' | 'occupied'): ProvisioningInput {
  const model = SAMPLE_MODELS[vendor];
  const plan = planKeys({
    policy: 'shift',
    identityKind: kind,
    userKeys: USER_KEYS,
    logoutCode: '*77*5*',
    capacity: keyCapacity(vendor, model),
  });
  const identity = kind === 'idle'
    ? { kind, username: 'HD0042', authUser: 'HD0042', displayName: 'Desk 4.12', label: 'Desk 4.12' }
    : { kind, username: '101', authUser: '101', displayName: 'Jürgen Müller & Co <R&D>', label: '101 Müller', extension: '101' };
  return {
    device: { mac: SAMPLE_MACS[vendor], vendor, model, location: 'Berlin HQ, floor 4, desk 12', options: { floor: '4' } },
    server: {
      sipHost: 'edge.hotdesk.example',
      sipPort: 5060,
      transport: 'udp',
      sipDomain: 'pbx.example.com',
      outboundProxy: kind === 'occupied' ? 'sbc.example.com:5070' : undefined,
      provisioningUrl: 'http://edge.hotdesk.example:8080/',
    },
    identity,
    keys: plan.keys,
    emergencyNumbers: ['112', '911'],
    featureCodes: { logout: '*77*5*', login: '*77*' },
    customTemplate: vendor === 'custom' ? { template: CUSTOM_TEMPLATE, fileName: 'hotdesk-{mac}.cfg' } : undefined,
  };
}

export const ALL_VENDORS: Vendor[] = ['yealink', 'grandstream', 'polycom', 'snom', 'fanvil', 'custom'];
export const KINDS = ['idle', 'occupied'] as const;
