/**
 * Conflicts the API server cannot see, because they span objects: two devices with one MAC in a
 * namespace, two devices with one idle account in a pool, two users with one extension in a pool.
 *
 * The older object keeps what it claims (earlier creationTimestamp, then the smaller name) and
 * only the newer one is flagged and left out. Both the controller and the edge decide this from
 * the same rule, so they agree without waiting for each other's writes.
 *
 * Why not take both out of service until someone fixes it: a conflict is nearly always a new
 * object copied from an old one (a device manifest duplicated with the MAC left unchanged, a user
 * added with a colleague's extension). Taking both out would let one typo log a working desk out
 * of its provisioning, leave a user unable to log in, and send emergency calls from an idle desk
 * without its location, for a mistake made on another object. Older-wins keeps what worked
 * working and puts the Conflict condition and Warning Event on the object that caused it. The
 * rule is deterministic (every replica and every edge pod picks the same winner from the same
 * objects) and stable (a new object can never take over a claim while the older one exists).
 */
import type { HotDeskDevice } from './device.ts';
import type { HotDeskUser } from './user.ts';
import type { Informer, KubeObject } from '../runtime/index.ts';

export type ClaimKind = 'mac' | 'idleAccount' | 'extension';

/** One thing an object claims for itself alone; `key` identifies it within the cluster. */
export interface Claim {
  kind: ClaimKind;
  key: string;
  /** The claimed value (MAC, account, extension), for messages. */
  value: string;
  /** The pool the value is unique in; undefined when it is unique in the namespace. */
  pool?: string | undefined;
}

interface Claimant {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string | Date; deletionTimestamp?: string | Date } | undefined;
}

function claimKey(namespace: string | undefined, ...parts: string[]): string {
  return [namespace ?? '', ...parts].join('\0');
}

/** A device claims its MAC in its namespace (one phone, one file name) and its idle account in its pool. */
export function deviceClaims(d: Pick<HotDeskDevice, 'metadata' | 'spec'>): Claim[] {
  const ns = d.metadata.namespace;
  const account = d.spec.idleIdentity.username;
  return [
    { kind: 'mac', key: claimKey(ns, 'mac', d.spec.mac), value: d.spec.mac },
    { kind: 'idleAccount', key: claimKey(ns, 'idle', d.spec.pool, account), value: account, pool: d.spec.pool },
  ];
}

/** A user claims its extension in its pool: a login by extension must reach one user. */
export function userClaims(u: Pick<HotDeskUser, 'metadata' | 'spec'>): Claim[] {
  return [{ kind: 'extension', key: extensionKey(u.metadata.namespace, u.spec.pool, u.spec.extension), value: u.spec.extension, pool: u.spec.pool }];
}

export function extensionKey(namespace: string | undefined, pool: string, extension: string): string {
  return claimKey(namespace, 'ext', pool, extension);
}

export function idleAccountKey(namespace: string | undefined, pool: string, account: string): string {
  return claimKey(namespace, 'idle', pool, account);
}

export function macKey(namespace: string | undefined, mac: string): string {
  return claimKey(namespace, 'mac', mac);
}

function millis(t: string | Date | undefined): number {
  // An object not yet stored has no creationTimestamp: it is the newest there is.
  return t === undefined ? Number.POSITIVE_INFINITY : new Date(t).getTime();
}

/** Older first: creationTimestamp (seconds), then name, so the order is total and the same everywhere. */
export function olderFirst(a: Claimant, b: Claimant): number {
  const byAge = millis(a.metadata?.creationTimestamp) - millis(b.metadata?.creationTimestamp);
  if (byAge !== 0 && !Number.isNaN(byAge)) return byAge;
  const an = a.metadata?.name ?? '';
  const bn = b.metadata?.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** A claim an object lost, and the older object that holds it. */
export interface LostClaim<T> {
  claim: Claim;
  holder: T;
}

/**
 * Who claims what, kept up to date object by object (from an informer's events), so finding the
 * holder of a MAC or an extension costs a map lookup, not a scan of the fleet.
 */
export class Claims<T extends Claimant> {
  readonly #claimsOf: (o: T) => Claim[];
  readonly #byKey = new Map<string, Map<string, T>>();
  readonly #keysById = new Map<string, string[]>();

  constructor(claimsOf: (o: T) => Claim[]) {
    this.#claimsOf = claimsOf;
  }

  /**
   * Records o as it is now and returns the other objects whose standing may have changed: those
   * sharing a key o claims now or claimed before. An object being deleted claims nothing, so the
   * next one in line takes over at once.
   */
  put(o: T): T[] {
    const before = this.#release(o);
    const keys = o.metadata?.deletionTimestamp ? [] : this.#claimsOf(o).map((c) => c.key);
    const id = idOf(o);
    for (const k of keys) {
      let holders = this.#byKey.get(k);
      if (!holders) this.#byKey.set(k, (holders = new Map()));
      holders.set(id, o);
    }
    this.#keysById.set(id, keys);
    return this.#others(id, [...before, ...keys]);
  }

  /** Forgets o (deleted) and returns the objects that shared a key with it. */
  remove(o: T): T[] {
    const id = idOf(o);
    return this.#others(id, this.#release(o));
  }

  /** Everyone claiming key, the holder first. */
  claimants(key: string): T[] {
    return [...(this.#byKey.get(key)?.values() ?? [])].sort(olderFirst);
  }

  holder(key: string): T | undefined {
    let best: T | undefined;
    for (const o of this.#byKey.get(key)?.values() ?? []) if (!best || olderFirst(o, best) < 0) best = o;
    return best;
  }

  /** The first claim of o that an older object holds, or undefined when o holds all it claims. */
  lost(o: T): LostClaim<T> | undefined {
    if (o.metadata?.deletionTimestamp) return undefined;
    const id = idOf(o);
    for (const claim of this.#claimsOf(o)) {
      const holder = this.holder(claim.key);
      if (holder && idOf(holder) !== id && olderFirst(holder, o) < 0) return { claim, holder };
    }
    return undefined;
  }

  #release(o: T): string[] {
    const id = idOf(o);
    const keys = this.#keysById.get(id) ?? [];
    for (const k of keys) {
      const holders = this.#byKey.get(k);
      holders?.delete(id);
      if (holders?.size === 0) this.#byKey.delete(k);
    }
    this.#keysById.delete(id);
    return keys;
  }

  #others(id: string, keys: readonly string[]): T[] {
    const out = new Map<string, T>();
    for (const k of keys) for (const [otherId, other] of this.#byKey.get(k) ?? []) if (otherId !== id) out.set(otherId, other);
    return [...out.values()];
  }
}

function idOf(o: Claimant): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Claims kept in step with an informer's cache. */
export function trackClaims<T extends KubeObject & Claimant>(informer: Informer<T>, claimsOf: (o: T) => Claim[]): Claims<T> {
  const claims = new Claims<T>(claimsOf);
  informer.addHandler({ onAdd: (o) => claims.put(o), onUpdate: (_old, o) => claims.put(o), onDelete: (o) => claims.remove(o) });
  return claims;
}

/** The Conflict condition's reason and message for a lost claim: what clashes with what, and the fix. */
export function describeLostClaim(lost: LostClaim<{ kind?: string; metadata?: { name?: string } }>): { reason: string; message: string } {
  const holder = `${lost.holder.kind ?? 'object'} ${lost.holder.metadata?.name ?? ''}`;
  const { claim } = lost;
  switch (claim.kind) {
    case 'mac':
      return {
        reason: 'DuplicateMAC',
        message: `MAC ${claim.value} belongs to ${holder}, which is older and keeps it; this device gets no provisioning file until you change spec.mac or delete ${holder}`,
      };
    case 'idleAccount':
      return {
        reason: 'DuplicateIdleAccount',
        message: `idle account ${claim.value} is used in pool ${claim.pool} by ${holder}, which is older and keeps it; calls from ${claim.value} count as ${holder}'s, so this device is not provisioned until you change spec.idleIdentity.username or delete ${holder}`,
      };
    case 'extension':
      return {
        reason: 'DuplicateExtension',
        message: `extension ${claim.value} is used in pool ${claim.pool} by ${holder}, which is older and keeps it; logins as ${claim.value} reach ${holder} only until you change spec.extension or delete ${holder}`,
      };
  }
}
