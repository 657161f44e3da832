import type { Logger } from 'pino';
import { exponentialDelay, withJitter } from './backoff.ts';
import { sleep } from './clock.ts';
import { collectionPath, keyOf, type KindDescriptor, type KubeObject } from './resource.ts';
import { ApiError, type KubeClient, type WatchEvent } from './rest.ts';

export interface InformerHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  /** Also called with old === new on every resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  kind: KindDescriptor;
  /** Limit to one namespace; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object this often (0 = never). Default 10 minutes. */
  resyncPeriodMs?: number;
  /** Retry after a failed list or watch: jittered exponential, 800 ms up to 30 s by default. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * While waiting out a retry delay longer than this, ask the API server this often whether it
   * answers again (a one-item list); when it does, the backoff starts over and the informer
   * reconnects at once. Default 1 s.
   */
  probeIntervalMs?: number;
  /** Server-side watch timeout; a little random so many watches don't reconnect together. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  logger?: Logger;
  /**
   * Trims each object before it is cached, for fields no reader needs (a controller that only
   * compares an annotation can drop a ConfigMap's data). managedFields are always dropped.
   */
  transform?: (obj: KubeObject) => KubeObject;
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/**
 * List+watch cache of one kind. Our own loop rather than client-node's ListWatch, which stops for
 * good on any watch error other than 410 or a client timeout, stops after a failed list, and has no
 * synced flag or resync: this one retries everything with jittered backoff, relists on 410 Gone,
 * and reconnects as soon as the API server answers again rather than when its backoff runs out.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly kind: KindDescriptor;
  private readonly client: KubeClient;
  private readonly opts: InformerOptions;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(client: KubeClient, opts: InformerOptions) {
    this.client = client;
    this.kind = opts.kind;
    this.opts = opts;
  }

  /** Existing cached objects are delivered to a late handler as adds. */
  addHandler(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
    for (const obj of this.cache.values()) handler.onAdd?.(obj);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(this.kind.namespaced && namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace ? all.filter((o) => o.metadata?.namespace === namespace) : all;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has landed in the cache, or when signal aborts. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
    const period = this.opts.resyncPeriodMs ?? 600_000;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resync(), period);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    await this.loop;
    this.loop = undefined;
  }

  private resync(): void {
    for (const obj of this.cache.values()) for (const h of this.handlers) h.onUpdate?.(obj, obj);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const log = this.opts.logger;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist(signal);
        if (signal.aborted) return;
        const started = Date.now();
        let events = 0;
        await this.watchOnce(signal, () => events++);
        // A watch that ends at once without events is as good as a failure: back off.
        if (events === 0 && Date.now() - started < 1_000) await this.backoff(signal, new Error('watch closed immediately'));
        else this.failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.statusCode === 410) {
          log?.info({ kind: this.kind.kind }, 'watch resourceVersion too old; relisting');
          this.resourceVersion = '';
          continue;
        }
        await this.backoff(signal, err);
      }
    }
  }

  private async backoff(signal: AbortSignal, err: unknown): Promise<void> {
    this.failures++;
    const delay = withJitter(exponentialDelay(this.failures, this.opts.retryInitialMs ?? 800, this.opts.retryMaxMs ?? 30_000), 0.5);
    this.opts.logger?.warn({ kind: this.kind.kind, err: String(err), retryInMs: Math.round(delay), failures: this.failures }, 'list/watch failed; retrying');
    await this.waitUnlessServerBack(delay, signal);
  }

  /**
   * Sleeps delayMs, unless the API server answers a probe first: then the failure count starts
   * over and the loop retries at once. Sitting out each informer's own backoff (up to 30 s) after
   * an outage would bring the caches of related kinds back seconds apart, and a reconciler reading
   * two of them would see one object without the other.
   */
  private async waitUnlessServerBack(delayMs: number, signal: AbortSignal): Promise<void> {
    const every = this.opts.probeIntervalMs ?? 1_000;
    const until = Date.now() + delayMs;
    while (!signal.aborted) {
      const left = until - Date.now();
      if (left <= every) return sleep(Math.max(0, left), signal);
      await sleep(every, signal);
      if (signal.aborted) return;
      if (await this.serverAnswers(signal)) {
        this.opts.logger?.info({ kind: this.kind.kind, failures: this.failures }, 'API server answers again; reconnecting');
        this.failures = 0;
        return;
      }
    }
  }

  /** A one-item list: cheap, and it succeeds only when this kind is served and may be read. */
  private async serverAnswers(signal: AbortSignal): Promise<boolean> {
    try {
      // A server down refuses the connection at once; the timeout is for one too loaded to answer.
      await this.client.request({ method: 'GET', path: collectionPath(this.kind, this.opts.namespace), query: { ...this.selectors(), limit: 1 }, signal, timeoutMs: 5_000 });
      return true;
    } catch {
      return false;
    }
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const path = collectionPath(this.kind, this.opts.namespace);
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.request<ListResponse<T>>({
        method: 'GET',
        path,
        query: { ...this.selectors(), limit: this.opts.pageSize ?? 500, continue: cont },
        signal,
      });
      const apiVersion = this.kind.group ? `${this.kind.group}/${this.kind.version}` : this.kind.version;
      // List items come without apiVersion/kind; watch events carry them. Make the cache uniform.
      for (const item of page.items ?? []) items.push({ apiVersion, kind: this.kind.kind, ...item });
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont);
    this.replace(items);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private replace(items: T[]): void {
    const fresh = new Map(items.map((o) => [keyOf(o), o]));
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    for (const obj of fresh.values()) this.upsert(obj);
  }

  /** managedFields can be most of an object's size and no cache reader uses them. */
  private trim(raw: T): T {
    const { managedFields: _dropped, ...metadata } = raw.metadata ?? {};
    const obj = { ...raw, metadata } as T;
    return this.opts.transform ? (this.opts.transform(obj) as T) : obj;
  }

  private upsert(raw: T): void {
    const obj = this.trim(raw);
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) {
      for (const h of this.handlers) h.onAdd?.(obj);
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
      for (const h of this.handlers) h.onUpdate?.(old, obj);
    }
  }

  private async watchOnce(signal: AbortSignal, counted: () => void): Promise<void> {
    const timeout = this.opts.watchTimeoutSeconds ?? Math.round(300 + Math.random() * 300);
    let gone: ApiError | undefined;
    let failed: ApiError | undefined;
    const child = new AbortController();
    const onAbort = () => child.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.client.watch<T>(
        collectionPath(this.kind, this.opts.namespace),
        { ...this.selectors(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: timeout },
        (ev: WatchEvent<T>) => {
          if (ev.type === 'ERROR') {
            const status = ev.object as { code?: number };
            const err = new ApiError(status.code ?? 500, ev.object, `watch ${this.kind.plural}`);
            if (status.code === 410) gone = err;
            else failed = err;
            child.abort();
            return;
          }
          counted();
          const rv = (ev.object as KubeObject).metadata?.resourceVersion;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.upsert(ev.object);
          else if (ev.type === 'DELETED') {
            const key = keyOf(ev.object);
            const old = this.cache.get(key);
            this.cache.delete(key);
            for (const h of this.handlers) h.onDelete?.(old ?? ev.object);
          }
          if (rv) this.resourceVersion = rv;
        },
        child.signal,
        // The server ends the watch at timeoutSeconds; silence well past that means a dead connection.
        (timeout + 30) * 1000,
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (gone) throw gone;
    if (failed) throw failed;
  }
}
