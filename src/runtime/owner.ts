import type { KindDescriptor, KubeObject, OwnerReference } from './resource.ts';
import { apiVersionOf } from './resource.ts';

/** The controller owner reference pointing at owner: garbage collection follows it, and so do watches of owned kinds. */
export function controllerReference(owner: KubeObject, ownerKind: KindDescriptor): OwnerReference {
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!name || !uid) throw new Error('an owner needs metadata.name and metadata.uid (use the object read from the API)');
  return { apiVersion: apiVersionOf(ownerKind), kind: ownerKind.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The object's controlling owner reference, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * Returns ownerReferences for obj with owner as its controller. An object has at most one
 * controller: a different one already set is an error, the same one is replaced in place.
 */
export function withControllerReference(obj: KubeObject, owner: KubeObject, ownerKind: KindDescriptor): OwnerReference[] {
  const ref = controllerReference(owner, ownerKind);
  const existing = controllerOf(obj);
  if (existing && existing.uid !== ref.uid) {
    throw new Error(`${obj.metadata?.name ?? 'object'} is already controlled by ${existing.kind}/${existing.name}`);
  }
  const others = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  return [...others, ref];
}

/** Whether ref points at an object of kind (same group and kind; version may differ). */
export function refersToKind(ref: OwnerReference, kind: KindDescriptor): boolean {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return ref.kind === kind.kind && group === kind.group;
}
