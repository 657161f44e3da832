import { objectPath, type KindDescriptor, type KubeObject } from './resource.ts';
import type { KubeClient } from './rest.ts';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return Boolean(obj.metadata?.deletionTimestamp);
}

/**
 * Adds finalizer to the live object. The patch carries the resourceVersion the list was computed
 * from, so a concurrent change makes it fail with 409 instead of dropping someone's finalizer.
 * Returns the object unchanged when the finalizer is already there.
 */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, kind: KindDescriptor, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers<T>(client, kind, obj, [...(obj.metadata?.finalizers ?? []), finalizer]);
}

export async function removeFinalizer<T extends KubeObject>(client: KubeClient, kind: KindDescriptor, obj: T, finalizer: string): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers<T>(client, kind, obj, (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer));
}

function patchFinalizers<T>(client: KubeClient, kind: KindDescriptor, obj: KubeObject, finalizers: string[]): Promise<T> {
  const name = obj.metadata?.name;
  if (!name) throw new Error('finalizer patch needs metadata.name');
  return client.request<T>({
    method: 'PATCH',
    path: objectPath(kind, obj.metadata?.namespace, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } },
  });
}
