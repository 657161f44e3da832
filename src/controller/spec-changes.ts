import type { KubeObject } from '../runtime/index.ts';

/**
 * Tells a spec change (a new metadata.generation, or an object seen for the first time or gone)
 * from a status-only update, for watches whose dependants care only about spec.
 */
export class SpecChanges {
  readonly #generations = new Map<string, number | undefined>();

  changed(obj: KubeObject): boolean {
    const uid = obj.metadata?.uid ?? `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (obj.metadata?.deletionTimestamp) {
      this.#generations.delete(uid);
      return true;
    }
    const generation = obj.metadata?.generation;
    const seen = this.#generations.has(uid);
    if (seen && this.#generations.get(uid) === generation) return false;
    this.#generations.set(uid, generation);
    return true;
  }
}
