import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { afterRightPin, laterLock, lockoutStartedBy, reservePinAttempt, type LockoutPolicy, type LockoutState, type PinAttempt } from '../policy/pin.ts';
import { isStatus, objectPath, type EventRecorder, type KindDescriptor, type KubeClient, type KubeObject } from '../runtime/index.ts';
import type { Logger } from '../log.ts';
import type { Device, User } from './pool-view.ts';

/** Enough for every parallel call on every replica to land its write once; then something is wrong. */
const MAX_CONFLICT_RETRIES = 32;

export const PIN_LOCKOUT_REASON = 'PinLockout';

export type ReserveResult = { kind: 'locked'; until: Date } | { kind: 'reserved'; attempt: PinAttempt };
export type RightPinResult = { kind: 'locked'; until: Date } | { kind: 'admit' };

export interface PinAttemptsOptions {
  client: KubeClient;
  namespace: string;
  recorder: EventRecorder;
  logger: Logger;
  now?: () => Date;
}

/**
 * The PIN attempt counter and lock of each user (and the lock of each desk), kept in their status
 * in the API so that every call on every replica shares them. Each write is a merge patch that
 * carries the resourceVersion of the read it was computed from: the API refuses it (409) if anyone
 * wrote in between, and the decision is made again from a fresh read. No write built on a stale
 * read can lower a count or lift a lock.
 */
export class PinAttempts {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #recorder: EventRecorder;
  readonly #logger: Logger;
  readonly #now: () => Date;

  constructor(opts: PinAttemptsOptions) {
    this.#client = opts.client;
    this.#namespace = opts.namespace;
    this.#recorder = opts.recorder;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Counts one PIN check before the PIN is looked at; refused while the user is locked. */
  reserve(userName: string, policy: LockoutPolicy): Promise<ReserveResult> {
    return this.#readModifyWrite<User, ReserveResult>(HOTDESK_KINDS.user, userName, (user) => {
      const decision = reservePinAttempt(lockoutStateOf(user), this.#now(), policy);
      if (decision.kind === 'locked') return { result: decision };
      return { result: { kind: 'reserved', attempt: decision.reservation }, status: statusOf(decision.next) };
    });
  }

  /** The reserved check found the right PIN: the count goes back to zero, unless a newer lock holds. */
  rightPin(userName: string, attempt: PinAttempt): Promise<RightPinResult> {
    return this.#readModifyWrite<User, RightPinResult>(HOTDESK_KINDS.user, userName, (user) => {
      const decision = afterRightPin(lockoutStateOf(user), attempt, this.#now());
      if (decision.kind === 'locked') return { result: decision };
      return decision.kind === 'clean' ? { result: { kind: 'admit' } } : { result: { kind: 'admit' }, status: statusOf(decision.next) };
    });
  }

  /**
   * The reserved check found a wrong PIN. The reservation counted it already; on the final attempt
   * the lockout starts: the desk is locked as well (so a guesser cannot move on to the next
   * extension from it) and both get a Warning Event. Returns when the lockout ends, if one started.
   */
  async wrongPin(userName: string, deviceName: string, attempt: PinAttempt): Promise<Date | undefined> {
    const until = lockoutStartedBy(attempt);
    if (!until) return undefined;
    // The user's lock is in place already (it came with the reservation); the desk's and the Events
    // follow it, and a failure there does not undo the lockout.
    const device = await this.#readModifyWrite<Device, Device>(HOTDESK_KINDS.device, deviceName, (d) => {
      const current = d.status?.lockedUntil ? new Date(d.status.lockedUntil) : undefined;
      const later = laterLock(current, until);
      return later ? { result: d, status: { lockedUntil: later.toISOString() } } : { result: d };
    }).catch((err: unknown) => {
      this.#logger.warn({ device: deviceName, err: String(err) }, 'could not lock the desk after a PIN lockout');
      return undefined;
    });
    const user = await this.#get<User>(HOTDESK_KINDS.user, userName).catch(() => undefined);
    const message = `locked out until ${until.toISOString()} after ${attempt.attempt} wrong PINs in a row`;
    await Promise.all([
      user ? this.#recorder.event(user, 'Warning', PIN_LOCKOUT_REASON, `${message} (the last at device ${deviceName})`) : undefined,
      device ? this.#recorder.event(device, 'Warning', PIN_LOCKOUT_REASON, `${message} for user ${userName}; logins at this desk are refused until then`) : undefined,
    ]);
    return until;
  }

  async #get<T extends KubeObject>(kind: KindDescriptor, name: string): Promise<T> {
    return this.#client.request<T>({ method: 'GET', path: objectPath(kind, this.#namespace, name) });
  }

  /**
   * Reads the object, lets `decide` compute a result and maybe a status change, and writes that
   * change on the condition that the object is still the one read; on a conflict, all over again.
   */
  async #readModifyWrite<T extends KubeObject, R>(kind: KindDescriptor, name: string, decide: (obj: T) => { result: R; status?: Record<string, unknown> }): Promise<R> {
    for (let round = 0; ; round++) {
      const obj = await this.#get<T>(kind, name);
      const { result, status } = decide(obj);
      if (!status) return result;
      try {
        await this.#client.request({
          method: 'PATCH',
          path: objectPath(kind, this.#namespace, name, 'status'),
          query: { fieldManager: EDGE_FIELD_MANAGER },
          contentType: 'application/merge-patch+json',
          body: { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status },
        });
        return result;
      } catch (err) {
        if (!isStatus(err, 409) || round + 1 >= MAX_CONFLICT_RETRIES) throw err;
        this.#logger.debug({ kind: kind.kind, name, round }, 'PIN attempt write conflicted; reading again');
        // A little jitter so the losers of one round do not collide again in the next.
        await sleep(randomInt(1 + Math.min(round, 8) * 5));
      }
    }
  }
}

function lockoutStateOf(user: User): LockoutState {
  const lockedUntil = user.status?.lockedUntil ? new Date(user.status.lockedUntil) : undefined;
  return { failedAttempts: user.status?.failedPinAttempts ?? 0, lockedUntil: lockedUntil && !Number.isNaN(lockedUntil.getTime()) ? lockedUntil : undefined };
}

/** Merge patch of the lockout fields; null removes a lock that is over. */
function statusOf(state: LockoutState): Record<string, unknown> {
  return { failedPinAttempts: state.failedAttempts, lockedUntil: state.lockedUntil?.toISOString() ?? null };
}
