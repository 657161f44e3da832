import { GROUP_VERSION, type HotDeskUser } from '../api/index.ts';
import { applyStatus, isStatus, mergeConditions, type Condition, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import { isValidPinHash } from '../policy/pin.ts';
import type { HotDeskContext } from './context.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { CONTROLLER_FIELD_MANAGER } from '../api/labels.ts';
import { isActive } from '../api/session-index.ts';
import { secretOptIn, userSecretReferences } from '../policy/secret-opt-in.ts';

/** Secrets are not watched (no cluster-wide Secret cache), so a broken user is looked at again. */
const RECHECK_INVALID_MS = 60_000;

export interface UserCheck {
  ok: boolean;
  reason: string;
  message: string;
}

/** Pure: is the user's Secret usable for login, given the pool's PIN policy? */
export function checkUserSecret(user: HotDeskUser, secretData: Record<string, string> | undefined, pin: { minLength: number; maxLength: number } | undefined): UserCheck {
  const ref = user.spec.secretRef;
  if (!secretData) return { ok: false, reason: 'SecretNotFound', message: `Secret ${ref.name} not found: create it with keys ${ref.passwordKey} and ${ref.pinKey} (or ${ref.pinHashKey})` };
  const decoded = (key: string) => (secretData[key] !== undefined ? Buffer.from(secretData[key], 'base64').toString('utf8') : undefined);
  if (!decoded(ref.passwordKey)) return { ok: false, reason: 'PasswordMissing', message: `Secret ${ref.name} has no SIP password under key ${ref.passwordKey}` };
  const hash = decoded(ref.pinHashKey);
  if (hash !== undefined) {
    return isValidPinHash(hash)
      ? { ok: true, reason: 'SecretValid', message: 'SIP password and PIN hash present' }
      : { ok: false, reason: 'PinHashInvalid', message: `Secret ${ref.name} key ${ref.pinHashKey} is not a scrypt PIN hash (scrypt$N$r$p$salt$hash)` };
  }
  const plain = decoded(ref.pinKey);
  if (plain === undefined) return { ok: false, reason: 'PinMissing', message: `Secret ${ref.name} has neither ${ref.pinKey} nor ${ref.pinHashKey}` };
  if (!/^\d+$/.test(plain)) return { ok: false, reason: 'PinInvalid', message: `the PIN in Secret ${ref.name} key ${ref.pinKey} must be digits only` };
  if (pin && (plain.length < pin.minLength || plain.length > pin.maxLength)) {
    return { ok: false, reason: 'PinInvalid', message: `the PIN in Secret ${ref.name} must have ${pin.minLength} to ${pin.maxLength} digits (pool pinPolicy)` };
  }
  return { ok: true, reason: 'SecretValid', message: 'SIP password and PIN present' };
}

export async function reconcileUser(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const user = ctx.caches.users.get(namespace, name);
  if (!user || user.metadata.deletionTimestamp) return;
  const pool = ctx.caches.pools.get(namespace, user.spec.pool);
  let secretData: Record<string, string> | undefined;
  let secretLabels: Record<string, string> | null = null;
  try {
    const secret = await ctx.client.request<{ metadata?: { labels?: Record<string, string> }; data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${user.spec.secretRef.name}` });
    secretData = secret.data ?? {};
    secretLabels = secret.metadata?.labels ?? {};
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
  ctx.secretLabels.remember(namespace, user.spec.secretRef.name, secretLabels);

  // A Secret that has not opted in to the pool is refused before its content is looked at.
  const optIn = secretOptIn(userSecretReferences(user)[0]!, user.spec.pool, secretLabels);
  let check = optIn.allowed || optIn.reason === 'SecretNotFound'
    ? checkUserSecret(user, secretData, pool?.spec.pinPolicy)
    : { ok: false, reason: optIn.reason, message: optIn.message };
  if (check.ok && !pool) check = { ok: false, reason: 'PoolNotFound', message: `pool ${user.spec.pool} not found in namespace ${namespace}` };
  if (check.ok && !user.spec.hotDeskingEnabled) check = { ok: true, reason: 'HotDeskingDisabled', message: 'valid, but hot desking is disabled for this user (spec.hotDeskingEnabled)' };

  const active = ctx.caches.sessions.list(namespace)
    .filter((s) => s.spec.user === name && isActive(s))
    .map((s) => ({ session: s.metadata.name ?? '', device: s.spec.device }))
    .sort((a, b) => a.session.localeCompare(b.session));
  const generation = user.metadata.generation ?? 0;
  const ready: Omit<Condition, 'lastTransitionTime'> = { type: 'Ready', status: check.ok ? 'True' : 'False', reason: check.reason, message: check.message, observedGeneration: generation };
  const conditions = mergeConditions(user.status?.conditions as Condition[] | undefined, [ready], ctx.now());
  const before = user.status?.conditions?.find((c) => c.type === 'Ready');
  const unchanged = before?.status === ready.status && before.reason === ready.reason && before.message === ready.message
    && user.status?.observedGeneration === generation
    && (user.status?.activeSessions ?? []).map((a) => `${a.session}@${a.device}`).join(',') === active.map((a) => `${a.session}@${a.device}`).join(',');
  const memoKey = `user/${user.metadata.uid}`;
  const desired = { active, generation, ready: [ready.status, ready.reason, ready.message] };
  if (!unchanged && !ctx.statusWrites.alreadyWritten(memoKey, user.metadata.resourceVersion, desired)) {
    await applyStatus(ctx.client, HOTDESK_KINDS.user, {
      apiVersion: GROUP_VERSION,
      kind: HOTDESK_KINDS.user.kind,
      metadata: { name, namespace },
      status: { activeSessions: active, conditions, observedGeneration: generation },
    }, { fieldManager: CONTROLLER_FIELD_MANAGER });
    ctx.statusWrites.record(memoKey, user.metadata.resourceVersion, desired);
  }
  if (!check.ok && (before?.reason !== check.reason || before.message !== check.message)) {
    await ctx.recorder.event(user as KubeObject, 'Warning', check.reason, check.message);
  }
  return check.ok ? undefined : { requeueAfter: RECHECK_INVALID_MS };
}
