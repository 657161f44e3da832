/**
 * Remembers the last status each object was given, and on top of which resourceVersion. A
 * reconcile that runs before the informer has caught up with our own write would otherwise see
 * the old status, conclude it differs, and write the same status again (a sixth of all writes in
 * the fleet benchmark). Once the cache shows a newer version, the cache is the truth again.
 */
export class WriteMemo {
  readonly #entries = new Map<string, { basedOn: string; desired: string }>();

  /** True when `desired` was already written over the version the cache still shows. */
  alreadyWritten(key: string, cachedResourceVersion: string | undefined, desired: unknown): boolean {
    const e = this.#entries.get(key);
    return e !== undefined && e.basedOn === (cachedResourceVersion ?? '') && e.desired === JSON.stringify(desired);
  }

  record(key: string, cachedResourceVersion: string | undefined, desired: unknown): void {
    this.#entries.set(key, { basedOn: cachedResourceVersion ?? '', desired: JSON.stringify(desired) });
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }
}
