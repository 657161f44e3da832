import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createLogger } from '../log.ts';
import { realClock, sleep, type Clock } from './clock.ts';
import { EventRecorder } from './events.ts';
import { Informer } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { RuntimeMetrics, type ReconcileResult } from './metrics.ts';
import { controllerOf, refersToKind } from './owner.ts';
import type { Predicate } from './predicates.ts';
import { keyOf, splitKey, type KindDescriptor, type KubeObject } from './resource.ts';
import { isStatus, KubeClient, type RequestOptions } from './rest.ts';
import { ProbeServer } from './server.ts';
import { WorkQueue, type WorkQueueOptions } from './workqueue.ts';

export interface Selection {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Trims cached objects (see InformerOptions.transform); the first registration of a selection sets it. */
  transform?: (obj: KubeObject) => KubeObject;
}

export interface WatchSpec extends Selection {
  kind: KindDescriptor;
  /** Which changes are mapped at all (e.g. generationChanged); every add, update and delete when unset. */
  predicate?: Predicate;
  /** Which reconcile keys ("namespace/name") a change of obj concerns. */
  map(obj: KubeObject): string[];
}

export interface ReconcileContext {
  key: string;
  namespace: string | undefined;
  name: string;
  /** Aborts when the manager gives up waiting at shutdown or leadership is lost. */
  signal: AbortSignal;
  /** How many times this key has failed in a row before this attempt. */
  retries: number;
  logger: Logger;
  /** Every request made through it is cancelled when signal aborts. */
  client: KubeClient;
  recorder: EventRecorder;
  /** Cached reads of a kind this controller watches (for, owns or watches). */
  cache<T extends KubeObject>(kind: KindDescriptor, selection?: Selection): Informer<T>;
}

export type ReconcileOutcome = { requeueAfter?: number; requeue?: boolean } | void;

export interface ControllerSpec extends Selection {
  name: string;
  for: KindDescriptor;
  /** Kinds whose controller owner reference points at a `for` object. */
  owns?: KindDescriptor[];
  watches?: WatchSpec[];
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileOutcome>;
  /** Workers reconciling different keys at once. Default 1; one key is never reconciled twice at once. */
  concurrency?: number;
  queue?: Omit<WorkQueueOptions, 'listeners'>;
}

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** The program's name: logger name, event source and default field manager. */
  name: string;
  /** Lease election; false runs workers at once (single replica, tests). */
  leaderElection: LeaderElectionConfig | false;
  /** Probe/metrics server; false for none. Port 0 picks a free one. */
  server?: { host?: string; port?: number } | false;
  /** How long in-flight reconciles may run on after SIGTERM. Default 30 s. */
  shutdownGraceMs?: number;
  resyncPeriodMs?: number;
  informerRetryMaxMs?: number;
  /** At most one ReconcileError Event per object this often, so a hot retry loop cannot flood Events. Default 60 s. */
  reconcileErrorEventIntervalMs?: number;
  metrics?: RuntimeMetrics;
  logger?: Logger;
  /** The one clock of queues, Events and the lease; a test may drive it by hand. */
  clock?: Clock;
}

interface RunningController {
  spec: ControllerSpec;
  queue: WorkQueue<string>;
  forInformer: Informer;
}

/**
 * Runs controllers: shared informers, one rate-limited queue per controller, workers only while
 * this replica leads, metrics and probes, and a graceful stop on SIGTERM/SIGINT.
 */
export class Manager {
  readonly client: KubeClient;
  readonly metrics: RuntimeMetrics;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
  readonly identity: string;
  readonly clock: Clock;
  private readonly opts: ManagerOptions;
  private readonly informers = new Map<string, Informer>();
  private readonly controllers: RunningController[] = [];
  private server: ProbeServer | undefined;
  private elector: LeaderElector | undefined;
  private electorRun: Promise<void> | undefined;
  private readonly electorStop = new AbortController();
  private workStop: AbortController | undefined;
  private workers: Promise<void>[] = [];
  private hardStop = new AbortController();
  private stopping: Promise<void> | undefined;
  private started = false;
  private readonly errorEvents = new RateLimitedKeys();

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.client = new KubeClient(opts.kubeConfig, { fieldManager: opts.name });
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.logger = opts.logger ?? createLogger(opts.name);
    this.identity = (opts.leaderElection && opts.leaderElection.identity) || `${hostname()}_${process.pid}`;
    this.clock = opts.clock ?? realClock;
    this.recorder = new EventRecorder({ client: this.client, component: opts.name, logger: this.logger, clock: this.clock });
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  isLeader(): boolean {
    return this.opts.leaderElection === false ? this.started : (this.elector?.isLeader() ?? false);
  }

  /** Every informer has listed once. */
  synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  add(spec: ControllerSpec): void {
    if (this.started) throw new Error('controllers must be added before start()');
    const queue = new WorkQueue<string>({ clock: this.clock, ...spec.queue, listeners: [this.metrics.queueListener(spec.name)] });
    this.metrics.initController(spec.name);
    const forInformer = this.informer(spec.for, spec);
    const enqueue = (obj: KubeObject) => queue.add(keyOf(obj));
    forInformer.addHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    for (const owned of spec.owns ?? []) {
      const toOwner = (obj: KubeObject) => {
        const ref = controllerOf(obj);
        if (!ref || !refersToKind(ref, spec.for)) return;
        const ns = spec.for.namespaced ? obj.metadata?.namespace : undefined;
        queue.add(ns ? `${ns}/${ref.name}` : ref.name);
      };
      this.informer(owned, { namespace: spec.namespace }).addHandler({ onAdd: toOwner, onUpdate: (_o, n) => toOwner(n), onDelete: toOwner });
    }
    for (const w of spec.watches ?? []) {
      const mapped = (obj: KubeObject) => {
        for (const k of w.map(obj)) queue.add(k);
      };
      const p = w.predicate ?? {};
      this.informer(w.kind, w).addHandler({
        onAdd: (o) => (p.create?.(o) ?? true) && mapped(o),
        onUpdate: (o, n) => (p.update?.(o, n) ?? true) && mapped(n),
        onDelete: (o) => (p.delete?.(o) ?? true) && mapped(o),
      });
    }
    this.controllers.push({ spec, queue, forInformer });
  }

  /** The shared informer of kind with selection, created on first use (before start()). */
  informer<T extends KubeObject = KubeObject>(kind: KindDescriptor, selection: Selection = {}): Informer<T> {
    const id = JSON.stringify([kind.group, kind.version, kind.plural, selection.namespace ?? '', selection.labelSelector ?? '', selection.fieldSelector ?? '']);
    let inf = this.informers.get(id);
    if (!inf) {
      if (this.started) throw new Error(`no informer for ${kind.plural} was registered before start()`);
      inf = new Informer(this.client, {
        kind,
        namespace: selection.namespace,
        labelSelector: selection.labelSelector,
        fieldSelector: selection.fieldSelector,
        ...(selection.transform ? { transform: selection.transform } : {}),
        resyncPeriodMs: this.opts.resyncPeriodMs,
        retryMaxMs: this.opts.informerRetryMaxMs,
        logger: this.logger,
      });
      this.informers.set(id, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts probes and informers, waits for the caches, then campaigns (or works at once). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.server !== false) {
      this.server = new ProbeServer({ registry: this.metrics.registry, ready: () => this.synced(), host: this.opts.server?.host, port: this.opts.server?.port ?? 8080 });
      await this.server.listen();
      this.logger.info({ port: this.server.port }, 'probe and metrics server listening');
    }
    for (const inf of this.informers.values()) inf.start();
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(this.electorStop.signal)));
    if (this.electorStop.signal.aborted) return;
    this.logger.info({ informers: this.informers.size }, 'caches synced');

    const le = this.opts.leaderElection;
    if (le === false) {
      this.startWorkers();
      return;
    }
    this.metrics.setLeader(le.name, false);
    this.elector = new LeaderElector({
      client: this.client,
      namespace: le.namespace,
      name: le.name,
      identity: this.identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      logger: this.logger,
      clock: this.clock,
      onStartedLeading: () => {
        this.metrics.setLeader(le.name, true);
        this.startWorkers();
      },
      onStoppedLeading: async () => {
        this.metrics.setLeader(le.name, false);
        await this.stopWorkers();
      },
      onNewLeader: (holder) => this.logger.info({ lease: le.name, holder }, 'lease holder observed'),
    });
    this.electorRun = this.elector.run(this.electorStop.signal);
  }

  /**
   * Graceful stop: no new work, in-flight reconciles get shutdownGraceMs to finish, then the
   * lease is released for a standby, informers stop and the server closes. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * start(), then wait for SIGTERM or SIGINT and stop gracefully. Resolves when stopped; onStarted
   * runs once start() has returned (server bound, caches synced, campaign begun).
   */
  async run(onStarted?: (mgr: Manager) => void): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        this.logger.info({ signal: sig }, 'shutting down');
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        void this.stop().then(resolve);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await this.start();
    onStarted?.(this);
    await stopped;
  }

  private async shutdown(): Promise<void> {
    const grace = this.opts.shutdownGraceMs ?? 30_000;
    const drained = Promise.all(this.controllers.map((c) => c.queue.shutDown()));
    this.workStop?.abort();
    // The grace timer must not outlive a quick drain: it would keep the process up for the full grace.
    const graceOver = new AbortController();
    const inTime = await Promise.race([drained.then(() => true), sleep(grace, graceOver.signal, this.clock).then(() => false)]);
    graceOver.abort();
    if (!inTime) {
      this.logger.warn({ graceMs: grace }, 'reconciles still running after the grace period; cancelling them');
      this.hardStop.abort();
    }
    this.electorStop.abort();
    await this.electorRun;
    if (this.elector) await this.elector.release();
    if (this.opts.leaderElection) this.metrics.setLeader(this.opts.leaderElection.name, false);
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await this.server?.close();
    this.logger.info('stopped');
  }

  private startWorkers(): void {
    if (this.workStop && !this.workStop.signal.aborted) return;
    const stop = new AbortController();
    this.workStop = stop;
    this.hardStop = new AbortController();
    for (const c of this.controllers) {
      // A new leader owes every object a reconcile: the last one may have died mid-way.
      for (const obj of c.forInformer.list()) c.queue.add(keyOf(obj));
      for (let i = 0; i < (c.spec.concurrency ?? 1); i++) this.workers.push(this.worker(c, stop.signal));
    }
  }

  private async stopWorkers(): Promise<void> {
    this.workStop?.abort();
    this.hardStop.abort();
    await Promise.all(this.workers.splice(0));
  }

  private async worker(c: RunningController, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await c.queue.get(signal);
      if (key === undefined) return;
      await this.reconcileOne(c, key);
    }
  }

  private async reconcileOne(c: RunningController, key: string): Promise<void> {
    const { queue, spec } = c;
    const { namespace, name } = splitKey(key);
    const logger = this.logger.child({ controller: spec.name, key });
    // One signal per reconcile, tied to the manager's: requests leave their abort listeners on it,
    // and on the long-lived signal those would pile up for as long as this replica leads.
    const cancel = new AbortController();
    setMaxListeners(0, cancel.signal);
    const hardStop = this.hardStop.signal;
    const onHardStop = () => cancel.abort();
    if (hardStop.aborted) cancel.abort();
    else hardStop.addEventListener('abort', onHardStop, { once: true });
    const signal = cancel.signal;
    const started = performance.now();
    let result: ReconcileResult;
    try {
      const out = await spec.reconcile(key, {
        key,
        namespace,
        name,
        signal,
        retries: queue.numRequeues(key),
        logger,
        client: new CancellableClient(this.client, signal),
        recorder: this.recorder,
        cache: (kind, selection) => this.informer(kind, selection ?? (kind === spec.for ? spec : {})),
      });
      if (out && out.requeueAfter !== undefined && out.requeueAfter > 0) {
        queue.forget(key);
        queue.addAfter(key, out.requeueAfter);
        result = 'requeue_after';
      } else if (out && out.requeue) {
        queue.addRateLimited(key);
        result = 'requeue';
      } else {
        queue.forget(key);
        result = 'success';
      }
    } catch (err) {
      const delay = queue.addRateLimited(key);
      result = 'error';
      const message = err instanceof Error ? err.message : String(err);
      if (signal.aborted) {
        logger.info({ err: message }, 'reconcile cancelled: shutting down or no longer leading');
      } else if (isStatus(err, 409)) {
        // The cache was behind a newer write: routine under load, and the retry reads the newer version.
        logger.debug({ err: message, retryInMs: delay }, 'reconcile conflicted with a newer version; retrying');
      } else {
        logger.error({ err: message, retryInMs: delay, retries: queue.numRequeues(key) }, 'reconcile failed');
        this.reportFailure(c, key, err, message);
      }
    } finally {
      hardStop.removeEventListener('abort', onHardStop);
      queue.done(key);
    }
    this.metrics.observeReconcile(spec.name, result, (performance.now() - started) / 1000);
  }

  /**
   * A Warning Event on the object, so `kubectl describe` shows what the log says. A 409 Conflict
   * is left out: it only means the cache was behind, and the retry reads the newer version.
   */
  private reportFailure(c: RunningController, key: string, err: unknown, message: string): void {
    if (isStatus(err, 409)) return;
    const { namespace, name } = splitKey(key);
    const obj = c.forInformer.get(namespace, name);
    if (!obj) return;
    if (!this.errorEvents.take(`${c.spec.name}/${key}`, this.clock.now(), this.opts.reconcileErrorEventIntervalMs ?? 60_000)) return;
    void this.recorder.event(obj, 'Warning', 'ReconcileError', `${c.spec.name} reconcile failed, retrying with backoff: ${message}`);
  }
}

/** The manager's client with every request bound to one reconcile's signal. */
class CancellableClient extends KubeClient {
  readonly #base: KubeClient;
  readonly #signal: AbortSignal;

  constructor(base: KubeClient, signal: AbortSignal) {
    super(base.kubeConfig);
    this.#base = base;
    this.#signal = signal;
  }

  override request<T>(opts: RequestOptions): Promise<T> {
    if (this.#signal.aborted) return Promise.reject(new Error(`${opts.method} ${opts.path}: cancelled, the reconcile was stopped`));
    return this.#base.request<T>({ ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, this.#signal]) : this.#signal });
  }
}

/** Lets a key through at most once per interval; forgets keys whose interval has passed. */
class RateLimitedKeys {
  readonly #last = new Map<string, number>();

  take(key: string, now: number, intervalMs: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < intervalMs) return false;
    if (this.#last.size >= 4096) {
      for (const [k, at] of this.#last) if (now - at >= intervalMs) this.#last.delete(k);
    }
    this.#last.set(key, now);
    return true;
  }
}
