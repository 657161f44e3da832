import { arr, int, obj, str, type Infer } from './schema.ts';

/** The standard metav1.Condition, so `kubectl wait --for=condition=Ready` and dashboards work. */
export const conditionSchema = obj({
  type: str({
    description: 'Type of condition in CamelCase, e.g. Ready, Provisioned, Registered.',
    pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    maxLength: 316,
  }),
  status: str({ description: 'Status of the condition: True, False or Unknown.', enum: ['True', 'False', 'Unknown'] }),
  observedGeneration: int({
    description: 'The .metadata.generation the condition was set for; older than the object\'s generation means out of date.',
    format: 'int64',
    minimum: 0,
  }),
  lastTransitionTime: str({ description: 'When the condition last changed from one status to another.', format: 'date-time' }),
  reason: str({
    description: 'Programmatic identifier in CamelCase saying why the condition has its status.',
    pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    minLength: 1,
    maxLength: 1024,
  }),
  message: str({ description: 'Human-readable details about the transition; may be empty.', maxLength: 32768 }),
}, {
  description: 'One aspect of the object\'s current state (metav1.Condition).',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
});

export type Condition = Infer<typeof conditionSchema>;

/** The `conditions` field every status carries, one entry per type. */
export function conditionsField(description: string) {
  return arr(conditionSchema, { description, listType: 'map', listMapKeys: ['type'], maxItems: 16 });
}

export const observedGenerationField = () =>
  int({ description: 'The .metadata.generation the controller last acted on.', format: 'int64', minimum: 0 });
