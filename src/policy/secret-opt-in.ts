/**
 * Which Secrets a pool may use. A Secret opts in to one pool with the label
 * `hotdesk.io/pool: <pool>`; naming it in a user's or device's spec is not enough, so whoever may
 * write a HotDeskUser or HotDeskDevice cannot widen what the pool's edge reads. Pure: the
 * controller (for the edge's Role and the objects' conditions) and the edge (before it fills a
 * value into a file) feed it the Secret's labels.
 */
import { LABEL_POOL } from '../api/labels.ts';
import type { HotDeskDevice, HotDeskUser } from '../api/index.ts';

/** A Secret named by an object's spec, and the field that names it (for messages). */
export interface SecretReference {
  field: string;
  name: string;
}

/** A Secret's labels as read from the API; null when the Secret does not exist. */
export type SecretLabels = Readonly<Record<string, string>> | null;

export type OptInRefusalReason = 'SecretNotFound' | 'SecretNotOptedIn' | 'SecretForOtherPool';

export type OptInDecision =
  | { allowed: true }
  | { allowed: false; reason: OptInRefusalReason; field: string; secret: string; message: string };

/** May `pool` use the Secret `ref` names, given the Secret's labels? */
export function secretOptIn(ref: SecretReference, pool: string, labels: SecretLabels): OptInDecision {
  const fix = `label it for this pool: kubectl label secret ${ref.name} ${LABEL_POOL}=${pool}`;
  if (labels === null) {
    return { allowed: false, reason: 'SecretNotFound', field: ref.field, secret: ref.name, message: `${ref.field}: Secret ${ref.name} not found: create it with the label ${LABEL_POOL}=${pool}` };
  }
  const labelled = labels[LABEL_POOL];
  if (labelled === pool) return { allowed: true };
  if (labelled === undefined) {
    return { allowed: false, reason: 'SecretNotOptedIn', field: ref.field, secret: ref.name, message: `${ref.field}: Secret ${ref.name} has not opted in to pool ${pool} (no ${LABEL_POOL} label), so the pool may not read it; ${fix}` };
  }
  return {
    allowed: false, reason: 'SecretForOtherPool', field: ref.field, secret: ref.name,
    message: `${ref.field}: Secret ${ref.name} is labelled for pool ${labelled} (${LABEL_POOL}=${labelled}), not ${pool}, so this pool may not read it; use a Secret of this pool or ${fix} --overwrite`,
  };
}

/** The Secrets a user names, with their fields. */
export function userSecretReferences(user: HotDeskUser): SecretReference[] {
  return [{ field: 'spec.secretRef.name', name: user.spec.secretRef.name }];
}

/** The Secrets a device names, with their fields. */
export function deviceSecretReferences(device: HotDeskDevice): SecretReference[] {
  return [
    { field: 'spec.idleIdentity.secretRef.name', name: device.spec.idleIdentity.secretRef.name },
    ...(device.spec.provisioningAuth ? [{ field: 'spec.provisioningAuth.secretRef.name', name: device.spec.provisioningAuth.secretRef.name }] : []),
  ];
}

export interface PoolSecrets {
  /** Opted-in Secrets, sorted: the only ones the edge's Role may name. */
  allowed: string[];
  /** Every reference refused, in the order given. */
  refused: Array<Extract<OptInDecision, { allowed: false }>>;
}

/** Splits a pool's references into the Secrets its edge may read and the refusals. */
export function poolSecrets(refs: readonly SecretReference[], pool: string, labelsOf: (secret: string) => SecretLabels): PoolSecrets {
  const allowed = new Set<string>();
  const refused: PoolSecrets['refused'] = [];
  for (const ref of refs) {
    const decision = secretOptIn(ref, pool, labelsOf(ref.name));
    if (decision.allowed) allowed.add(ref.name);
    else refused.push(decision);
  }
  return { allowed: [...allowed].sort(), refused };
}
