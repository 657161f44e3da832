import { API_GROUP, API_VERSION, KINDS } from './group.ts';
import type { KindDescriptor } from '../runtime/index.ts';

function hotdesk(key: keyof typeof KINDS): KindDescriptor {
  return { group: API_GROUP, version: API_VERSION, kind: KINDS[key].kind, plural: KINDS[key].plural, namespaced: true };
}

export const HOTDESK_KINDS = {
  pool: hotdesk('pool'),
  user: hotdesk('user'),
  device: hotdesk('device'),
  session: hotdesk('session'),
} as const;

/** Built-in kinds the controller writes for each pool's edge, besides those the runtime knows. */
export const EDGE_KINDS = {
  serviceAccount: { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  role: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  roleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
} as const satisfies Record<string, KindDescriptor>;
