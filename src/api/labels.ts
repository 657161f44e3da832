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

export function provisioningConfigMapName(device: string): string {
  return `${device}-provisioning`;
}

export function edgeName(pool: string): string {
  return `${pool}-edge`;
}
