/** Which API resource a controller reads or writes: enough to build its REST paths. */
export interface KindDescriptor {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
  [extra: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [extra: string]: unknown;
}

export function apiVersionOf(kind: KindDescriptor): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

/** Collection path, e.g. /api/v1/namespaces/ns/configmaps or /apis/g/v/things. */
export function collectionPath(kind: KindDescriptor, namespace?: string): string {
  const root = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  if (kind.namespaced && namespace) return `${root}/namespaces/${encodeURIComponent(namespace)}/${kind.plural}`;
  return `${root}/${kind.plural}`;
}

export function objectPath(kind: KindDescriptor, namespace: string | undefined, name: string, subresource?: string): string {
  const base = `${collectionPath(kind, kind.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource ? `${base}/${subresource}` : base;
}

/** Reconcile keys are "namespace/name", or "name" for cluster-scoped objects. */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { namespace: undefined, name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Descriptors for the built-in kinds the runtime itself uses. */
export const CORE_KINDS = {
  configMap: { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  secret: { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  service: { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  namespace: { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  event: { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  deployment: { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  lease: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
} as const satisfies Record<string, KindDescriptor>;
