import { conditionsField, observedGenerationField } from './conditions.ts';
import { customResourceDefinition, type KindDefinition, type Resource } from './crd.ts';
import { configMapKeyRef, dateTime, objectName, secretKey } from './fields.ts';
import { KINDS } from './group.ts';
import { celString, map, obj, str, type Infer, type InferInput } from './schema.ts';

export const DEVICE_VENDORS = ['yealink', 'grandstream', 'polycom', 'snom', 'fanvil', 'custom'] as const;
export const DEVICE_PHASES = ['Idle', 'Occupied', 'Error'] as const;

/**
 * The one spelling of a MAC the API stores: 12 lowercase hex digits, no separators, the way phones
 * name their files (805ec0a1b2c3.cfg). Without a webhook the API server cannot rewrite
 * "80:5E:C0:A1:B2:C3", and accepting several spellings would let two devices claim one phone, so
 * other spellings are refused with the canonical one in the message.
 */
export const MAC_PATTERN = '^[0-9a-f]{12}$';

const MAC_SUGGESTION = "self.lowerAscii().replace(':', '').replace('-', '').replace('.', '')";

export const macSchema = str({
  description: 'The phone\'s MAC address as 12 lowercase hex digits without separators, e.g. 805ec0a1b2c3 (for 80:5E:C0:A1:B2:C3). Cannot be changed: a different phone is a different device.',
  maxLength: 17,
  rules: [
    {
      rule: `self.matches(${celString(MAC_PATTERN)})`,
      message: 'mac must be 12 lowercase hex digits without separators, e.g. 805ec0a1b2c3',
      messageExpression: `${MAC_SUGGESTION}.matches(${celString(MAC_PATTERN)}) ? 'mac must be 12 lowercase hex digits without separators: write ' + ${MAC_SUGGESTION} + ' instead of ' + self : 'mac must be 12 lowercase hex digits without separators, e.g. 805ec0a1b2c3; ' + self + ' is not a MAC address'`,
    },
    {
      rule: 'self == oldSelf',
      message: 'mac is immutable: a different phone is a different device, so delete this HotDeskDevice and create a new one',
    },
  ],
});

export const deviceSpecSchema = obj({
  mac: macSchema,
  vendor: str({ description: 'Phone vendor; selects the provisioning format. custom needs customTemplate.', enum: DEVICE_VENDORS }),
  model: str({ description: 'Model as the vendor names it, e.g. T54W, GRP2614, VVX 450; decides how many keys the phone has.', maxLength: 64 }),
  pool: objectName('Name of the HotDeskPool (same namespace) this desk belongs to.'),
  idleIdentity: obj({
    username: str({ description: 'SIP account the phone registers with while nobody is logged in, e.g. HD0001. It may dial only emergency numbers and the login codes.', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    displayName: str({ description: 'Shown on the idle phone\'s screen, e.g. "Hot desk 3F-12".', maxLength: 64 }),
    secretRef: obj({
      name: objectName('Name of the Secret, in the device\'s namespace.'),
      passwordKey: secretKey('Key of the SIP password in the Secret.', 'password'),
    }, { description: 'Secret holding the idle account\'s SIP password.', required: ['name'] }),
  }, { description: 'The account the phone uses while idle.', required: ['username', 'secretRef'] }),
  location: str({ description: 'Where the desk is, e.g. "London 3F desk 12"; sent with emergency calls so responders find the desk, not the last user.', maxLength: 128 }),
  outboundProxy: str({
    description: 'SBC or outbound proxy every SIP request of the phone goes through, "host" or "host:port". Unset: the pool\'s edge.',
    maxLength: 261,
    pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$',
  }),
  options: map(str({ description: 'An option value.', maxLength: 1024 }), {
    description: 'Free-form options passed to the provisioning template (custom templates read them).',
    maxProperties: 64,
  }),
  provisioningAuth: obj({
    secretRef: obj({
      name: objectName('Name of the Secret, in the device\'s namespace.'),
      passwordKey: secretKey('Key of the password in the Secret.', 'provisioningPassword'),
    }, { description: 'Secret holding the password.', required: ['name'] }),
  }, { description: 'HTTP Digest password this phone presents to fetch its provisioning file; the user name is the MAC. Each phone has its own, so one phone cannot fetch another\'s credentials. Unset: the edge does not serve this phone\'s file.', required: ['secretRef'] }),
  customTemplate: obj({
    configMapRef: configMapKeyRef('ConfigMap key holding the Mustache template.'),
  }, { description: 'Provisioning template for vendor custom.', required: ['configMapRef'] }),
}, {
  description: 'Desired state of the desk phone.',
  required: ['mac', 'vendor', 'pool', 'idleIdentity'],
  rules: [{
    rule: "self.vendor != 'custom' || has(self.customTemplate)",
    message: 'customTemplate is required when vendor is custom: set customTemplate.configMapRef to the ConfigMap key holding the template',
    fieldPath: '.customTemplate',
    reason: 'FieldValueRequired',
  }],
});

export const deviceStatusSchema = obj({
  phase: str({ description: 'Idle: idle identity provisioned; Occupied: a user is logged in; Error: see conditions.', enum: DEVICE_PHASES }),
  occupant: obj({
    user: objectName('The HotDeskUser logged in.'),
    extension: str({ description: 'The occupant\'s extension.', maxLength: 15 }),
    session: objectName('The HotDeskSession.'),
  }, { description: 'Who is logged in at the desk; absent when idle.' }),
  configRevision: str({ description: 'Revision of the configuration last rendered for the phone.', maxLength: 128 }),
  lastResync: obj({
    sentAt: dateTime('When the edge last told the phone to re-sync (NOTIFY check-sync).'),
    acknowledgedAt: dateTime('When the phone then fetched its configuration.'),
  }, { description: 'The last re-sync the edge asked for.' }),
  registration: obj({
    contact: str({ description: 'Contact URI of the phone\'s last REGISTER.', maxLength: 512 }),
    identity: str({ description: 'Account the phone registered as (idle identity or occupant\'s extension).', maxLength: 64 }),
    seenAt: dateTime('When the edge last saw the registration.'),
    replica: str({ description: 'The edge replica holding the phone\'s connection (its pod IP and SIP port); it alone sends the phone check-sync while it is ready.', maxLength: 64 }),
  }, { description: 'The phone\'s registration as the edge sees it.' }),
  lockedUntil: dateTime('Logins at this desk are refused until then after too many wrong PINs.'),
  conditions: conditionsField('Provisioned: the phone\'s configuration is written to its ConfigMap; Registered: the phone is registered; Conflict: an older device holds this one\'s MAC (in the namespace) or idle account (in the pool), so this one is left out until that changes.'),
  observedGeneration: observedGenerationField(),
}, { description: 'Observed state of the desk, written by the controller and the edge.' });

export type HotDeskDeviceSpec = Infer<typeof deviceSpecSchema>;
export type HotDeskDeviceSpecInput = InferInput<typeof deviceSpecSchema>;
export type HotDeskDeviceStatus = Infer<typeof deviceStatusSchema>;
export type HotDeskDevice = Resource<typeof KINDS.device.kind, HotDeskDeviceSpec, HotDeskDeviceStatus>;
export type DeviceVendor = (typeof DEVICE_VENDORS)[number];
export type DevicePhase = (typeof DEVICE_PHASES)[number];

export const deviceDefinition: KindDefinition = {
  key: 'device',
  description: 'HotDeskDevice: one shared desk phone, its idle identity and its location.',
  spec: deviceSpecSchema,
  status: deviceStatusSchema,
  printerColumns: [
    { name: 'MAC', type: 'string', jsonPath: '.spec.mac', description: 'The phone\'s MAC address.' },
    { name: 'Vendor', type: 'string', jsonPath: '.spec.vendor', description: 'Phone vendor.' },
    { name: 'Model', type: 'string', jsonPath: '.spec.model', description: 'Phone model.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Idle, Occupied or Error.' },
    { name: 'Occupant', type: 'string', jsonPath: '.status.occupant.user', description: 'The user logged in.' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.pool', description: 'The pool of the desk.', priority: 1 },
    { name: 'Location', type: 'string', jsonPath: '.spec.location', description: 'Where the desk is.', priority: 1 },
  ],
};

export const deviceCrd = customResourceDefinition(deviceDefinition);
