import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { objectPath, type KindDescriptor, type KubeClient } from '../runtime/index.ts';

/**
 * The edge writes only what it alone sees (registrations, re-syncs, PIN lockouts, activity) with
 * merge patches under its own field manager: each write names just its fields, so one concern's
 * write never drops another's, and the controller's fields are never touched.
 *
 * Device status writes are coalesced per device: a REGISTER flood must not turn into a PATCH per
 * REGISTER. A device's first write goes out at once; what arrives while it is in flight, or
 * within `minIntervalMs` of it, is merged (the latest binding wins) and written as one patch when
 * the interval is up. At most `maxInFlight` writes are in flight for all devices together.
 */
export interface StatusWriterOptions {
  /** Least time between two status writes of one device (default 1 s). */
  minIntervalMs?: number;
  /** Device status writes in flight at once (default 8). */
  maxInFlight?: number;
}

type Patch = Record<string, unknown>;

function isObject(v: unknown): v is Patch {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One merge patch with the effect of applying `earlier`, then `later` (RFC 7386). */
export function composeMergePatches(earlier: Patch, later: Patch): Patch {
  const out: Patch = { ...earlier };
  for (const [key, value] of Object.entries(later)) {
    const before = out[key];
    out[key] = isObject(value) && isObject(before) ? composeMergePatches(before, value) : value;
  }
  return out;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Slot {
  pending: Patch | undefined;
  waiters: Waiter[];
  inFlight: boolean;
  queued: boolean;
  lastWriteAt: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Per-key coalescing of merge patches with a minimum interval per key and a bound on writes in
 * flight. Each caller's promise settles with the write that carried its patch.
 */
export class CoalescingPatcher {
  readonly #write: (key: string, patch: Patch) => Promise<void>;
  readonly #minIntervalMs: number;
  readonly #maxInFlight: number;
  readonly #slots = new Map<string, Slot>();
  /** Keys whose interval is up, waiting for a free write. */
  readonly #ready: string[] = [];
  #inFlight = 0;

  constructor(write: (key: string, patch: Patch) => Promise<void>, opts: StatusWriterOptions = {}) {
    this.#write = write;
    this.#minIntervalMs = opts.minIntervalMs ?? 1_000;
    this.#maxInFlight = opts.maxInFlight ?? 8;
  }

  /** Keys with a write pending or in flight, or still inside their interval. */
  get trackedKeys(): number {
    return this.#slots.size;
  }

  patch(key: string, patch: Patch): Promise<void> {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { pending: undefined, waiters: [], inFlight: false, queued: false, lastWriteAt: -Infinity, timer: undefined };
      this.#slots.set(key, slot);
    }
    slot.pending = slot.pending === undefined ? patch : composeMergePatches(slot.pending, patch);
    const done = new Promise<void>((resolve, reject) => slot.waiters.push({ resolve, reject }));
    this.#schedule(key, slot);
    return done;
  }

  #schedule(key: string, slot: Slot): void {
    if (slot.inFlight || slot.queued) return;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const wait = slot.lastWriteAt + this.#minIntervalMs - performance.now();
    if (slot.pending === undefined) {
      // Idle: forget the key once its interval is over.
      slot.timer = setTimeout(() => {
        if (slot.pending === undefined && !slot.inFlight && this.#slots.get(key) === slot) this.#slots.delete(key);
      }, Math.max(0, wait));
      slot.timer.unref();
      return;
    }
    if (wait > 0) {
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        this.#schedule(key, slot);
      }, wait);
      return;
    }
    slot.queued = true;
    this.#ready.push(key);
    this.#drain();
  }

  #drain(): void {
    while (this.#inFlight < this.#maxInFlight && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      const slot = this.#slots.get(key)!;
      slot.queued = false;
      const patch = slot.pending!;
      const waiters = slot.waiters;
      slot.pending = undefined;
      slot.waiters = [];
      slot.inFlight = true;
      slot.lastWriteAt = performance.now();
      this.#inFlight++;
      this.#write(key, patch).then(
        () => waiters.forEach((w) => w.resolve()),
        (err: unknown) => waiters.forEach((w) => w.reject(err)),
      ).finally(() => {
        this.#inFlight--;
        slot.inFlight = false;
        this.#schedule(key, slot);
        this.#drain();
      });
    }
  }
}

export class EdgeStatusWriter {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #devices: CoalescingPatcher;

  constructor(client: KubeClient, namespace: string, opts: StatusWriterOptions = {}) {
    this.#client = client;
    this.#namespace = namespace;
    this.#devices = new CoalescingPatcher((name, status) => this.#patch(HOTDESK_KINDS.device, name, { status }, 'status'), opts);
  }

  /** Coalesced per device (see above): resolves once a write carrying this status is done. */
  device(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#devices.patch(name, status);
  }

  user(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.user, name, { status }, 'status');
  }

  session(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.session, name, { status }, 'status');
  }

  sessionAnnotations(name: string, annotations: Record<string, string>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.session, name, { metadata: { annotations } });
  }

  async #patch(kind: KindDescriptor, name: string, body: object, subresource?: string): Promise<void> {
    await this.#client.request({
      method: 'PATCH',
      path: objectPath(kind, this.#namespace, name, subresource),
      query: { fieldManager: EDGE_FIELD_MANAGER },
      contentType: 'application/merge-patch+json',
      body,
    });
  }
}
