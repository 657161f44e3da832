import type { KubeObject } from './resource.ts';

/**
 * Which changes of a watched object are worth a reconcile of its dependants. A handler left out
 * lets every such event through.
 */
export interface Predicate<T extends KubeObject = KubeObject> {
  create?(obj: T): boolean;
  /** Also called with old === new on every resync. */
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

/**
 * Passes what can change a dependant's outcome when the dependant reads only spec: a first
 * sighting, a new metadata.generation (the API server bumps it on spec changes, not on status),
 * the start of deletion, a deletion, and a new object under the same name (a new uid, seen when a
 * relist finds it was deleted and created again while the watch was down).
 * Status-only updates and resyncs do not pass.
 */
export const generationChanged: Predicate = {
  create: () => true,
  update: (oldObj, newObj) => oldObj.metadata?.generation !== newObj.metadata?.generation
    || oldObj.metadata?.uid !== newObj.metadata?.uid
    || (!oldObj.metadata?.deletionTimestamp && Boolean(newObj.metadata?.deletionTimestamp)),
  delete: () => true,
};
