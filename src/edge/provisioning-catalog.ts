import type { PoolView, ProvisioningConfigMap } from './pool-view.ts';
import type { ProvisioningFile } from './provisioning-server.ts';

/** Files to add or replace, by name, and names no longer served. */
export interface CatalogChange {
  upserts: Array<[string, ProvisioningFile]>;
  removals: string[];
}

/** What provisioning workers need of the catalog: a snapshot, then every change. */
export interface FileCatalog {
  snapshot(): CatalogChange;
  subscribe(listener: (change: CatalogChange) => void): () => void;
}

function sameRef(a: ProvisioningFile['authRef'], b: ProvisioningFile['authRef']): boolean {
  return a?.secret === b?.secret && a?.key === b?.key;
}

function sameFile(a: ProvisioningFile, b: ProvisioningFile): boolean {
  return a.device === b.device && a.username === b.username && a.content === b.content && a.contentType === b.contentType
    && sameRef(a.passwordRef, b.passwordRef) && sameRef(a.authRef, b.authRef);
}

const fileNames = (cm: ProvisioningConfigMap) => Object.keys(cm.data ?? {});

/**
 * The pool's servable files, kept from the ConfigMap and device informers, for processes that
 * serve them without caches of their own: they take a snapshot, then every change, in the order
 * the informers saw them. Built before the re-sync notifier, so a file reaches the provisioning
 * workers before the phone is told to fetch it.
 */
export class ProvisioningCatalog implements FileCatalog {
  readonly #view: PoolView;
  readonly #published = new Map<string, ProvisioningFile>();
  readonly #subscribers = new Set<(change: CatalogChange) => void>();

  constructor(view: PoolView) {
    this.#view = view;
    view.configMaps.addHandler({
      onAdd: (cm) => this.#refresh(fileNames(cm)),
      onUpdate: (old, cm) => this.#refresh([...new Set([...fileNames(old), ...fileNames(cm)])]),
      onDelete: (cm) => this.#refresh(fileNames(cm)),
    });
    // A device's MAC and provisioning Secret are part of what its files need.
    const ofDevice = (name: string | undefined) => this.#refresh(name ? view.filesOfDevice(name) : []);
    view.devices.addHandler({
      onAdd: (d) => ofDevice(d.metadata.name),
      onUpdate: (_old, d) => ofDevice(d.metadata.name),
      onDelete: (d) => ofDevice(d.metadata.name),
    });
  }

  /** Every file served now, as one change from nothing. */
  snapshot(): CatalogChange {
    return { upserts: [...this.#published], removals: [] };
  }

  subscribe(listener: (change: CatalogChange) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  #refresh(names: string[]): void {
    const change: CatalogChange = { upserts: [], removals: [] };
    for (const name of names) {
      const next = this.#view.servedFile(name);
      const previous = this.#published.get(name);
      if (!next) {
        if (previous && this.#published.delete(name)) change.removals.push(name);
      } else if (!previous || !sameFile(previous, next)) {
        this.#published.set(name, next);
        change.upserts.push([name, next]);
      }
    }
    if (change.upserts.length + change.removals.length === 0) return;
    for (const listener of this.#subscribers) listener(change);
  }
}
