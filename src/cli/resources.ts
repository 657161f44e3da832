/**
 * The parts of the hot-desk resources this plugin reads. Structural, so objects from the API server
 * (which may carry more fields) fit, and every field is optional the way it is on the wire.
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
}

export interface UserView {
  metadata?: ObjectMeta;
  spec?: { pool?: string; extension?: string; displayName?: string; hotDeskingEnabled?: boolean };
}

export interface DeviceView {
  metadata?: ObjectMeta;
  spec?: { mac?: string; vendor?: string; model?: string; pool?: string; location?: string };
  status?: {
    phase?: string;
    occupant?: { user?: string; extension?: string; session?: string };
    configRevision?: string;
    lastResync?: { sentAt?: string; acknowledgedAt?: string };
  };
}

export interface SessionView {
  metadata?: ObjectMeta;
  spec?: { device?: string; user?: string; origin?: string; expiresAt?: string };
  status?: { phase?: string; startedAt?: string; endedAt?: string; endReason?: string; message?: string };
}

/** Objects are matched within one namespace: names are only unique there. */
export function namespacedKey(obj: { metadata?: ObjectMeta }, name?: string): string {
  return `${obj.metadata?.namespace ?? ''}/${name ?? obj.metadata?.name ?? ''}`;
}

export function byNamespaceAndName(a: { metadata?: ObjectMeta }, b: { metadata?: ObjectMeta }): number {
  return namespacedKey(a).localeCompare(namespacedKey(b));
}

/** A session not yet ended: Pending (or not yet seen by the controller) or Active. */
export function isOpen(session: SessionView): boolean {
  const phase = session.status?.phase;
  return phase === undefined || phase === 'Pending' || phase === 'Active';
}
