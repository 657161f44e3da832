import type { Informer } from './informer.ts';
import type { KubeObject } from './resource.ts';

/**
 * A secondary index over an informer's cache (by MAC, by extension, by file name), kept up to
 * date from its events, so lookups on the SIP and HTTP hot paths do not scan thousands of objects.
 */
export class CacheIndex<T extends KubeObject> {
  readonly #keysOf: (obj: T) => string[];
  readonly #byKey = new Map<string, T>();
  readonly #keysByObject = new Map<string, string[]>();

  constructor(informer: Informer<T>, keysOf: (obj: T) => string[]) {
    this.#keysOf = keysOf;
    informer.addHandler({
      onAdd: (o) => this.#put(o),
      onUpdate: (_old, o) => this.#put(o),
      onDelete: (o) => this.#remove(o),
    });
  }

  get(key: string): T | undefined {
    return this.#byKey.get(key);
  }

  get size(): number {
    return this.#byKey.size;
  }

  #id(o: T): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }

  #put(o: T): void {
    this.#remove(o);
    const keys = this.#keysOf(o);
    for (const k of keys) this.#byKey.set(k, o);
    this.#keysByObject.set(this.#id(o), keys);
  }

  #remove(o: T): void {
    const id = this.#id(o);
    for (const k of this.#keysByObject.get(id) ?? []) {
      if (this.#id(this.#byKey.get(k) ?? o) === id) this.#byKey.delete(k);
    }
    this.#keysByObject.delete(id);
  }
}
