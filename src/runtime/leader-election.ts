import type { Logger } from 'pino';
import { realClock, sleep, type Clock } from './clock.ts';
import { CORE_KINDS, objectPath, collectionPath } from './resource.ts';
import { isStatus, type KubeClient } from './rest.ts';

/** coordination.k8s.io/v1 LeaseSpec, as much as election uses. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name: every replica of one controller uses the same. */
  name: string;
  /** This replica's identity, unique among replicas (pod name, host_pid). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called on winning; signal aborts when leadership is lost or the elector stops. */
  onStartedLeading?(signal: AbortSignal): void;
  onStoppedLeading?(): void | Promise<void>;
  onNewLeader?(identity: string): void;
  logger?: Logger;
  clock?: Clock;
}

/**
 * Whether `identity` may take the lease now. Expiry is judged by when *we* last saw the record
 * change (observedAtMs) plus the holder's declared duration, never by the holder's clock, so clock
 * skew between replicas doesn't matter.
 */
export function mayAcquire(spec: LeaseSpec | undefined, identity: string, observedAtMs: number, nowMs: number): boolean {
  const holder = spec?.holderIdentity ?? '';
  if (!holder || holder === identity) return true;
  const durationMs = (spec?.leaseDurationSeconds ?? 0) * 1000;
  return observedAtMs + durationMs <= nowMs;
}

/** The spec to write when `identity` acquires or renews at nowMs. */
export function nextLeaseSpec(current: LeaseSpec | undefined, identity: string, leaseDurationMs: number, nowMs: number): LeaseSpec {
  const now = microTime(nowMs);
  const renewing = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
    acquireTime: renewing && current?.acquireTime ? current.acquireTime : now,
    renewTime: now,
    leaseTransitions: (current?.leaseTransitions ?? 0) + (renewing || !current?.holderIdentity ? 0 : 1),
  };
}

export const DEFAULT_ELECTION_TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export type ElectionTimings = { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };

/**
 * The timings to campaign with: client-go's defaults (15 s, 10 s, 2 s) for every value not given.
 * An explicit `undefined` (an unset environment variable passed through) means "not given": a
 * spread of it over the defaults once made every deadline NaN and the lease flap many times a second.
 */
export function electionTimings(given: Partial<Record<keyof ElectionTimings, number | undefined>>): ElectionTimings {
  const pick = (name: keyof ElectionTimings): number => {
    const value = given[name];
    if (value === undefined) return DEFAULT_ELECTION_TIMINGS[name];
    if (!Number.isFinite(value) || value <= 0) throw new Error(`leader election ${name} must be a positive number of milliseconds, got ${value}`);
    return value;
  };
  const timings = { leaseDurationMs: pick('leaseDurationMs'), renewDeadlineMs: pick('renewDeadlineMs'), retryPeriodMs: pick('retryPeriodMs') };
  if (timings.renewDeadlineMs >= timings.leaseDurationMs) throw new Error(`leader election renewDeadlineMs (${timings.renewDeadlineMs}) must be shorter than leaseDurationMs (${timings.leaseDurationMs})`);
  if (timings.retryPeriodMs >= timings.renewDeadlineMs) throw new Error(`leader election retryPeriodMs (${timings.retryPeriodMs}) must be shorter than renewDeadlineMs (${timings.renewDeadlineMs})`);
  return timings;
}

/** metav1.MicroTime wire format: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Lease-based leader election in the client-go manner: acquire, renew, step down, release. */
export class LeaderElector {
  private readonly opts: Required<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectionOptions;
  private observedSpec = '';
  private observedAt = 0;
  private lastSeenHolder = '';
  private leading = false;
  private readonly clock: Clock;

  constructor(opts: LeaderElectionOptions) {
    this.opts = { ...opts, ...electionTimings(opts) };
    this.clock = opts.clock ?? realClock;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until signal aborts; after losing the lease it steps down and campaigns again.
   * A leader steps down once renewDeadline has passed since the start of its last successful
   * write, so it stops working at least leaseDuration − renewDeadline before a standby, which
   * counts leaseDuration from when it saw that write, may take over.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.opts;
    const log = this.opts.logger;
    while (!signal.aborted) {
      let renewedAt = 0;
      for (;;) {
        if (signal.aborted) return;
        const attemptAt = this.clock.now();
        if (await this.tryAcquireOrRenew(attemptAt + renewDeadlineMs)) {
          renewedAt = attemptAt;
          break;
        }
        await sleep(retryPeriodMs * (1 + 0.2 * Math.random()), signal, this.clock);
      }

      this.leading = true;
      log?.info({ lease: this.opts.name, identity: this.opts.identity }, 'became leader');
      const lost = new AbortController();
      this.opts.onStartedLeading?.(lost.signal);

      while (!signal.aborted) {
        await sleep(retryPeriodMs, signal, this.clock);
        const deadline = renewedAt + renewDeadlineMs;
        let renewed = false;
        while (!signal.aborted && this.clock.now() < deadline) {
          const attemptAt = this.clock.now();
          if (await this.tryAcquireOrRenew(deadline)) {
            renewedAt = attemptAt;
            renewed = true;
            break;
          }
          await sleep(Math.min(retryPeriodMs, Math.max(0, deadline - this.clock.now())), signal, this.clock);
        }
        if (signal.aborted) break;
        if (!renewed) {
          log?.warn({ lease: this.opts.name, renewDeadlineMs }, 'failed to renew the lease in time; stepping down');
          break;
        }
      }
      this.leading = false;
      lost.abort();
      await this.opts.onStoppedLeading?.();
    }
  }

  /**
   * Gives the lease up if we hold it, so a standby takes over at once instead of waiting for
   * expiry. Call after run() has returned.
   */
  async release(): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    try {
      const lease = await client.request<Lease>({ method: 'GET', path: objectPath(CORE_KINDS.lease, namespace, name) });
      if (lease.spec?.holderIdentity !== identity) return false;
      const now = microTime(this.clock.now());
      const spec: LeaseSpec = { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await client.request<Lease>({ method: 'PUT', path: objectPath(CORE_KINDS.lease, namespace, name), body: { ...lease, spec }, timeoutMs: 5_000 });
      this.opts.logger?.info({ lease: name }, 'released the lease');
      return true;
    } catch (err) {
      this.opts.logger?.warn({ lease: name, err: String(err) }, 'could not release the lease');
      return false;
    }
  }

  /** One acquire-or-renew round; every request of it ends by deadlineAt (epoch ms). */
  private async tryAcquireOrRenew(deadlineAt: number): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationMs } = this.opts;
    const path = objectPath(CORE_KINDS.lease, namespace, name);
    const now = this.clock.now();
    const reqTimeout = (): number => {
      const left = deadlineAt - this.clock.now();
      if (left <= 0) throw new Error('lease round past its deadline');
      return left;
    };
    try {
      let lease: Lease;
      try {
        lease = await client.request<Lease>({ method: 'GET', path, timeoutMs: reqTimeout() });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
        const spec = nextLeaseSpec(undefined, identity, leaseDurationMs, now);
        await client.request<Lease>({
          method: 'POST',
          path: collectionPath(CORE_KINDS.lease, namespace),
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec },
          timeoutMs: reqTimeout(),
        });
        this.observe(spec, now);
        return true;
      }
      this.observe(lease.spec, now);
      if (!mayAcquire(lease.spec, identity, this.observedAt, now)) return false;
      const spec = nextLeaseSpec(lease.spec, identity, leaseDurationMs, now);
      await client.request<Lease>({ method: 'PUT', path, body: { ...lease, spec }, timeoutMs: reqTimeout() });
      this.observe(spec, now);
      return true;
    } catch (err) {
      // 409: another replica wrote first; anything else: the API is unreachable. Either way, not ours now.
      if (!isStatus(err, 409)) this.opts.logger?.debug({ lease: name, err: String(err) }, 'lease update failed');
      return false;
    }
  }

  private observe(spec: LeaseSpec | undefined, now: number): void {
    const serialized = JSON.stringify(spec ?? {});
    if (serialized !== this.observedSpec) {
      this.observedSpec = serialized;
      this.observedAt = now;
    }
    const holder = spec?.holderIdentity ?? '';
    if (holder !== this.lastSeenHolder) {
      this.lastSeenHolder = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }
}
