import { createHash } from 'node:crypto';
import { API_GROUP } from './group.ts';

/** The field manager of every write the controller makes (server-side apply). */
export const CONTROLLER_FIELD_MANAGER = 'hotdesk-controller';
/** The edge's own field manager, for what only it sees (registrations, re-syncs, lockouts). */
export const EDGE_FIELD_MANAGER = 'hotdesk-edge';

export const LABEL_POOL = `${API_GROUP}/pool`;
export const LABEL_DEVICE = `${API_GROUP}/device`;
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'hotdesk-operator';

/** Selects the ConfigMaps the controller renders, so informers hold those and no others. */
export const PROVISIONING_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_DEVICE}`;

export const ANNOTATION_REVISION = `${API_GROUP}/config-revision`;
/** JSON map of file name to content type, so the edge serves each file with the right one. */
export const ANNOTATION_CONTENT_TYPES = `${API_GROUP}/content-types`;
/**
 * JSON {"secret": name, "key": key}: where the edge finds the SIP password that fills the file's
 * placeholder when it serves it (the idle account's, or the occupant's).
 */
export const ANNOTATION_CREDENTIALS = `${API_GROUP}/credentials`;
export const ANNOTATION_CONFIG_CHECKSUM = `${API_GROUP}/config-checksum`;
/** On the edge Deployment: a hash of every edge object as last applied, to skip identical writes. */
export const ANNOTATION_OBJECTS_CHECKSUM = `${API_GROUP}/objects-checksum`;
/** Set by the edge when a user dials the logout code: the controller ends the session as "logout". */
export const ANNOTATION_LOGOUT_REQUESTED = `${API_GROUP}/logout-requested-at`;

export const SESSION_FINALIZER = `${API_GROUP}/return-device-to-idle`;

/**
 * Names of objects are label values on what the controller derives from them (the pool on its
 * edge objects and ConfigMaps, the device on its ConfigMap), and label values have at most 63
 * characters. Longer names are refused by the API server (see crd.ts), so the edge and the
 * controller can select by the plain name and never need to map a shortened value back.
 */
export const MAX_LABELLED_NAME_LENGTH = 63;

/** Why each kind's name is limited, for the API server's message. */
export const NAME_LIMITS = {
  pool: 'it labels the pool\'s edge objects and provisioning ConfigMaps, and label values have at most 63 characters',
  device: 'it labels the device\'s provisioning ConfigMap, and label values have at most 63 characters',
} as const;

/**
 * The ConfigMap holding a device's rendered files. A device name has at most 63 characters (see
 * NAME_LIMITS), so this always fits a ConfigMap name (a DNS subdomain, 253).
 */
export function provisioningConfigMapName(device: string): string {
  return `${device}-provisioning`;
}

/** A Service name (DNS-1035 label): lowercase letters, digits and '-', starting with a letter, at most 63. */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_MAX = 63;
const HASH_LENGTH = 8;

/**
 * The name of a pool's edge ServiceAccount, Role, RoleBinding, Deployment and Service. It is
 * `<pool>-edge` whenever that is a valid Service name, as it always was, so upgrading renames
 * nothing. A pool name that is not (a dot, as in london.office, a leading digit, or more than 58
 * characters) gets `edge-<readable part>-<hash of the full name>`: always a Service name, stable
 * across restarts and replicas, and distinct for london.office and london-office.
 */
export function edgeName(pool: string): string {
  const plain = `${pool}-edge`;
  if (plain.length <= DNS1035_MAX && DNS1035_LABEL.test(plain)) return plain;
  const hash = createHash('sha256').update(pool).digest('hex').slice(0, HASH_LENGTH);
  const room = DNS1035_MAX - 'edge-'.length - 1 - HASH_LENGTH;
  const readable = pool.replace(/[^a-z0-9-]/g, '-').slice(0, room).replace(/-+$/, '');
  return readable ? `edge-${readable}-${hash}` : `edge-${hash}`;
}
