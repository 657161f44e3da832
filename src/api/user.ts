import { conditionsField, observedGenerationField } from './conditions.ts';
import { customResourceDefinition, readyColumn, type KindDefinition, type Resource } from './crd.ts';
import { dateTime, objectName, secretKey } from './fields.ts';
import { KINDS } from './group.ts';
import { celString, arr, bool, int, obj, str, type Infer, type InferInput } from './schema.ts';

/** Keys a user may put on the phone; the logout key is placed by the operator, not by users. */
export const USER_KEY_TYPES = ['blf', 'speeddial', 'line', 'dtmf', 'empty'] as const;

export const EXTENSION_PATTERN = '^[0-9]{1,15}$';

export const userKeySchema = obj({
  type: str({
    description: 'blf watches an extension, speeddial dials a number, line shows the line, dtmf sends digits in a call, empty leaves the key blank.',
    enum: USER_KEY_TYPES,
  }),
  value: str({ description: 'blf: the watched extension; speeddial: the number; dtmf: the digits; line and empty: unused.', maxLength: 64 }),
  label: str({ description: 'Text shown next to the key.', maxLength: 32 }),
}, {
  description: 'One programmable key; position i in the list is the user\'s key i+1 (after the reserved logout key).',
  required: ['type'],
  rules: [{
    rule: "!(self.type in ['blf', 'speeddial', 'dtmf']) || (has(self.value) && self.value != '')",
    message: 'keys: blf, speeddial and dtmf keys need a value (the extension, number or digits)',
    fieldPath: '.value',
  }],
});

export const userSpecSchema = obj({
  pool: objectName('Name of the HotDeskPool (same namespace) whose desks this user may log in at.'),
  extension: str({
    description: 'The user\'s extension on the PBX, digits only, e.g. 101. Dialled in the login code.',
    maxLength: 15,
    rules: [{ rule: `self.matches(${celString(EXTENSION_PATTERN)})`, message: 'extension must be 1 to 15 digits, e.g. 101' }],
  }),
  displayName: str({ description: 'Name shown on the phone\'s screen and in caller ID.', maxLength: 64 }),
  secretRef: obj({
    name: objectName('Name of the Secret, in the user\'s namespace.'),
    passwordKey: secretKey('Key of the SIP password in the Secret.', 'password'),
    pinKey: secretKey('Key of the plain PIN in the Secret (used when the PIN-hash key is absent).', 'pin'),
    pinHashKey: secretKey('Key of a PIN hash in the Secret; preferred over the plain PIN when present.', 'pinHash'),
  }, { description: 'Secret holding the user\'s SIP password and login PIN (or PIN hash). Never copied into ConfigMaps, logs or events.', required: ['name'] }),
  keys: arr(userKeySchema, { description: 'The user\'s own keys, in order; they follow the user to whichever desk they log in at.', maxItems: 64 }),
  hotDeskingEnabled: bool({ description: 'Whether this user may log in at hot desks.', default: true }),
}, { description: 'Desired state of the user.', required: ['pool', 'extension', 'secretRef'] });

export const userStatusSchema = obj({
  conditions: conditionsField('Ready: the user\'s Secret holds a password and a PIN; Conflict: an older user of the pool has this extension, so this one cannot log in until that changes.'),
  observedGeneration: observedGenerationField(),
  activeSessions: arr(obj({
    session: objectName('The HotDeskSession.'),
    device: objectName('The HotDeskDevice the user is logged in at.'),
  }, { description: 'One desk the user is logged in at.', required: ['session', 'device'] }), {
    description: 'Desks the user is logged in at now.',
    maxItems: 64,
    listType: 'map',
    listMapKeys: ['session'],
  }),
  lockedUntil: dateTime('Logins are refused until then after too many wrong PINs.'),
  failedPinAttempts: int({ description: 'Wrong PINs in a row since the last good one.', minimum: 0 }),
}, { description: 'Observed state of the user, written by the controller.' });

export type HotDeskUserSpec = Infer<typeof userSpecSchema>;
export type HotDeskUserSpecInput = InferInput<typeof userSpecSchema>;
export type HotDeskUserStatus = Infer<typeof userStatusSchema>;
export type HotDeskUser = Resource<typeof KINDS.user.kind, HotDeskUserSpec, HotDeskUserStatus>;
export type UserKey = Infer<typeof userKeySchema>;

export const userDefinition: KindDefinition = {
  key: 'user',
  description: 'HotDeskUser: a PBX extension that may log in at the desks of a pool, with its credentials and its own keys.',
  spec: userSpecSchema,
  status: userStatusSchema,
  printerColumns: [
    { name: 'Extension', type: 'string', jsonPath: '.spec.extension', description: 'The user\'s extension.' },
    { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', description: 'Name shown on the phone.' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.pool', description: 'The pool the user belongs to.' },
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.hotDeskingEnabled', description: 'Whether hot desking is enabled.' },
    { ...readyColumn('user'), priority: 1 },
  ],
};

export const userCrd = customResourceDefinition(userDefinition);
