import { conditionsField, observedGenerationField } from './conditions.ts';
import { customResourceDefinition, type KindDefinition, type Resource } from './crd.ts';
import { dateTime, OBJECT_NAME_PATTERN } from './fields.ts';
import { KINDS } from './group.ts';
import { obj, str, type Infer, type InferInput } from './schema.ts';

export const SESSION_ORIGINS = ['featureCode', 'admin', 'booking'] as const;
export const SESSION_PHASES = ['Pending', 'Active', 'Ended', 'Refused'] as const;
export const SESSION_END_REASONS = [
  'logout', // the user dialled the logout code or pressed the logout key
  'forced', // an admin deleted the session or logged the user out
  'roamed', // the user logged in at another desk (policy kick)
  'expired', // maxDuration, dailyLogoutTime or spec.expiresAt
  'idle', // idleTimeout
  'superseded', // a newer login took the device (or user) over
  'deviceGone', // the HotDeskDevice was deleted
  'userGone', // the HotDeskUser was deleted
  'poolGone', // the device's HotDeskPool was deleted
  'disabled', // hot desking was switched off for the user
  'refused', // the login was never admitted
] as const;

/** Who is at which desk cannot be rewritten: a move is a new session. */
function immutableName(field: string, description: string) {
  return str({
    description: `${description} Cannot be changed after creation.`,
    pattern: OBJECT_NAME_PATTERN,
    minLength: 1,
    maxLength: 253,
    rules: [{ rule: 'self == oldSelf', message: `${field} is immutable: end this session and create a new one instead` }],
  });
}

export const sessionSpecSchema = obj({
  device: immutableName('device', 'Name of the HotDeskDevice (same namespace) the user is logged in at.'),
  user: immutableName('user', 'Name of the HotDeskUser logged in.'),
  origin: str({
    description: 'How the session started: featureCode (dialled at the desk), admin (kubectl) or booking (a desk-booking system).',
    enum: SESSION_ORIGINS,
    default: 'admin',
  }),
  expiresAt: dateTime('The session ends then, on top of the pool\'s session policy.'),
}, { description: 'Desired state of the session. Deleting the session logs the user out.', required: ['device', 'user'] });

export const sessionStatusSchema = obj({
  phase: str({ description: 'Pending: being admitted; Active: the user is logged in; Ended: logged out; Refused: never admitted.', enum: SESSION_PHASES }),
  startedAt: dateTime('When the session became Active.'),
  endedAt: dateTime('When the session ended or was refused.'),
  endReason: str({ description: 'Why the session ended: ' + SESSION_END_REASONS.join(', ') + '.', enum: SESSION_END_REASONS }),
  message: str({ description: 'Human-readable detail on the phase or the end.', maxLength: 1024 }),
  lastActivityAt: dateTime('Last call seen from the desk; drives the idle timeout.'),
  conditions: conditionsField('Ready: the phone carries the occupant\'s configuration.'),
  observedGeneration: observedGenerationField(),
}, { description: 'Observed state of the session, written by the controller.' });

export type HotDeskSessionSpec = Infer<typeof sessionSpecSchema>;
export type HotDeskSessionSpecInput = InferInput<typeof sessionSpecSchema>;
export type HotDeskSessionStatus = Infer<typeof sessionStatusSchema>;
export type HotDeskSession = Resource<typeof KINDS.session.kind, HotDeskSessionSpec, HotDeskSessionStatus>;
export type SessionOrigin = (typeof SESSION_ORIGINS)[number];
export type SessionPhase = (typeof SESSION_PHASES)[number];
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export const sessionDefinition: KindDefinition = {
  key: 'session',
  description: 'HotDeskSession: a user logged in at a desk. Create one to log a user in, delete it to log them out.',
  spec: sessionSpecSchema,
  status: sessionStatusSchema,
  printerColumns: [
    { name: 'Device', type: 'string', jsonPath: '.spec.device', description: 'The desk.' },
    { name: 'User', type: 'string', jsonPath: '.spec.user', description: 'The user logged in.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pending, Active, Ended or Refused.' },
    { name: 'Reason', type: 'string', jsonPath: '.status.endReason', description: 'Why the session ended.' },
    { name: 'Origin', type: 'string', jsonPath: '.spec.origin', description: 'How the session started.', priority: 1 },
  ],
};

export const sessionCrd = customResourceDefinition(sessionDefinition);
