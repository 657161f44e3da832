import type { Condition } from '../api/conditions.ts';

/**
 * metav1.Condition, as the CRDs' schema defines it (src/api/conditions.ts): one type for what the
 * API stores and what the runtime sets, so statuses read from the cache need no cast.
 */
export type { Condition };

export type ConditionInput = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

/**
 * Returns conditions with `next` set. lastTransitionTime moves only when the status changes, so
 * it tells users since when a condition holds; reason, message and observedGeneration always
 * follow `next`. Order is kept; a new type is appended. The input is not modified.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionInput, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const existing = index >= 0 ? list[index] : undefined;
  const transition = existing && existing.status === next.status ? existing.lastTransitionTime : (next.lastTransitionTime ?? rfc3339(now));
  const merged: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime: transition,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  if (index >= 0) list[index] = merged;
  else list.push(merged);
  return list;
}

/** Applies several condition updates in order. */
export function mergeConditions(conditions: readonly Condition[] | undefined, updates: readonly ConditionInput[], now: Date): Condition[] {
  return updates.reduce<Condition[]>((acc, u) => setCondition(acc, u, now), [...(conditions ?? [])]);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** metav1.Time: RFC 3339 in seconds. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
