import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { realClock, type Clock } from './clock.ts';
import { CORE_KINDS, collectionPath, objectPath, type KubeObject } from './resource.ts';
import { isStatus, type KubeClient } from './rest.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: KubeClient;
  /** Shown as the event's source, e.g. "hotdesk-controller". */
  component: string;
  host?: string;
  /** Repeats within this window bump the existing Event's count. Default 10 minutes. */
  aggregationWindowMs?: number;
  /** How many distinct events to remember for aggregation. */
  maxRemembered?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Remembered {
  namespace: string;
  name: string;
  count: number;
  lastMs: number;
}

/**
 * Records core/v1 Events about objects. An identical repeat (same object, type, reason, message)
 * within the window increments the existing Event's count instead of creating another, so a
 * failing reconcile loop shows one Event with a growing count rather than a flood.
 * Recording never throws: Events are best effort.
 */
export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly remembered = new Map<string, Remembered>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
  }

  event(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = aggregationKey(regarding, type, reason, message);
    // Serialise per key so concurrent repeats count up one by one instead of racing to create.
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.record(key, regarding, type, reason, message));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async record(key: string, regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = (this.opts.clock ?? realClock).now();
    const window = this.opts.aggregationWindowMs ?? 600_000;
    const seen = this.remembered.get(key);
    try {
      if (seen && now - seen.lastMs < window) {
        try {
          await this.opts.client.request({
            method: 'PATCH',
            path: objectPath(CORE_KINDS.event, seen.namespace, seen.name),
            contentType: 'application/merge-patch+json',
            body: { count: seen.count + 1, lastTimestamp: isoSeconds(now) },
          });
          seen.count++;
          seen.lastMs = now;
          this.touch(key, seen);
          return;
        } catch (err) {
          if (!isStatus(err, 404)) throw err;
        }
      }
      const created = await this.create(regarding, type, reason, message, now);
      this.touch(key, created);
    } catch (err) {
      this.opts.logger?.warn({ reason, err: String(err) }, 'could not record event');
    }
  }

  private async create(regarding: KubeObject, type: EventType, reason: string, message: string, now: number): Promise<Remembered> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const name = `${meta.name ?? 'object'}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    await this.opts.client.request({
      method: 'POST',
      path: collectionPath(CORE_KINDS.event, namespace),
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: isoSeconds(now),
        lastTimestamp: isoSeconds(now),
        source: { component: this.opts.component, host: this.opts.host ?? hostname() },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.host ?? hostname(),
      },
    });
    return { namespace, name, count: 1, lastMs: now };
  }

  private touch(key: string, value: Remembered): void {
    // Map keeps insertion order: re-inserting makes this the most recent; the oldest goes first.
    this.remembered.delete(key);
    this.remembered.set(key, value);
    const max = this.opts.maxRemembered ?? 4096;
    while (this.remembered.size > max) {
      const oldest = this.remembered.keys().next().value;
      if (oldest === undefined) break;
      this.remembered.delete(oldest);
    }
  }
}

function aggregationKey(obj: KubeObject, type: string, reason: string, message: string): string {
  const m = obj.metadata ?? {};
  return JSON.stringify([obj.kind, m.namespace, m.name, m.uid, type, reason, message]);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
