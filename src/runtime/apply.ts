import { apiVersionOf, objectPath, type KindDescriptor, type KubeObject } from './resource.ts';
import type { KubeClient } from './rest.ts';

export interface ApplyOptions {
  /** One field manager per program, so GitOps tools and the controller own separate fields. */
  fieldManager: string;
  /** Take fields over from other managers on conflict. Default true, as controllers do. */
  force?: boolean;
}

/**
 * Server-side apply of `obj` (apiVersion/kind filled in from kind when missing): the applied
 * configuration is exactly the fields given; fields this manager applied before and now omits are
 * removed.
 */
export function applyObject<T extends KubeObject>(client: KubeClient, kind: KindDescriptor, obj: KubeObject, opts: ApplyOptions): Promise<T> {
  return applyAt<T>(client, kind, obj, opts);
}

/** Server-side apply to the status subresource; only `status` of obj is taken by the server. */
export function applyStatus<T extends KubeObject>(client: KubeClient, kind: KindDescriptor, obj: KubeObject, opts: ApplyOptions): Promise<T> {
  return applyAt<T>(client, kind, obj, opts, 'status');
}

function applyAt<T>(client: KubeClient, kind: KindDescriptor, obj: KubeObject, opts: ApplyOptions, subresource?: string): Promise<T> {
  const name = obj.metadata?.name;
  if (!name) throw new Error('server-side apply needs metadata.name');
  const body = { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(kind), kind: obj.kind ?? kind.kind };
  return client.request<T>({
    method: 'PATCH',
    path: objectPath(kind, obj.metadata?.namespace, name, subresource),
    query: { fieldManager: opts.fieldManager, force: opts.force ?? true },
    // JSON is YAML, so the apply content type takes it as is.
    contentType: 'application/apply-patch+yaml',
    body: JSON.stringify(body),
  });
}
