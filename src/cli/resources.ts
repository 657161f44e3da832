import type { HotDeskDeviceSpec, HotDeskDeviceStatus } from '../api/device.ts';
import type { HotDeskSessionSpec, HotDeskSessionStatus } from '../api/session.ts';
import type { HotDeskUserSpec } from '../api/user.ts';

/**
 * The hot-desk objects as this plugin reads them: the API's own types, loosened so that an object
 * missing a field (an older version, a hand-made object) is shown rather than crashing the plugin.
 */
interface Loose<Spec, Status> {
  metadata?: ObjectMeta;
  spec?: Partial<Spec>;
  status?: Status;
}

/**
 * Object metadata as JSON from the custom-objects API. client-node's V1ObjectMeta types timestamps
 * as Date, but custom objects are not deserialized, so they arrive as RFC 3339 strings.
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
}

export type UserView = Loose<HotDeskUserSpec, unknown>;
export type DeviceView = Loose<HotDeskDeviceSpec, HotDeskDeviceStatus>;
export type SessionView = Loose<HotDeskSessionSpec, HotDeskSessionStatus>;

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
