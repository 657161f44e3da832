import { GROUP_VERSION, type HotDeskPool, type HotDeskSession, type HotDeskUser } from '../api/index.ts';
import { describeLostClaim, type LostClaim } from '../api/conflicts.ts';
import { applyStatus, isStatus, mergeConditions, type ConditionInput, type EventType, type KubeObject, type ReconcileOutcome } from '../runtime/index.ts';
import { isValidPinHash } from '../policy/pin.ts';
import type { HotDeskContext } from './context.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { CONTROLLER_FIELD_MANAGER } from '../api/labels.ts';
import { isActive } from '../api/session-index.ts';
import { secretOptIn, userSecretReferences, type SecretLabels } from '../policy/secret-opt-in.ts';

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

export interface UserPlanInput {
  user: HotDeskUser & KubeObject;
  pool: HotDeskPool | undefined;
  /** The Secret's data as read; undefined when it does not exist. */
  secretData: Record<string, string> | undefined;
  /** The Secret's labels as read; null when it does not exist. */
  secretLabels: SecretLabels;
  /** The extension an older user of the pool holds (src/api/conflicts.ts). */
  lost: LostClaim<{ kind?: string; metadata?: { name?: string } }> | undefined;
  sessions: readonly HotDeskSession[];
}

export interface UserPlan {
  activeSessions: { session: string; device: string }[];
  /** Every condition the controller owns on a user; a type left out (a resolved Conflict) is removed. */
  conditions: ConditionInput[];
  /** Whether the cached status already says all this. */
  unchanged: boolean;
  /** A Warning when the user newly cannot log in, named by the reason. */
  events: { type: EventType; reason: string; message: string }[];
  requeueAfter: number | undefined;
}

const USER_CONTROLLER_CONDITIONS = ['Ready', 'Conflict'];

/** Pure: the user's status and Events from what the caches and its Secret hold. */
export function planUser(input: UserPlanInput): UserPlan {
  const { user, pool, lost } = input;
  const namespace = user.metadata.namespace ?? '';
  const name = user.metadata.name ?? '';
  // A Secret that has not opted in to the pool is refused before its content is looked at.
  const optIn = secretOptIn(userSecretReferences(user)[0]!, user.spec.pool, input.secretLabels);
  let check: UserCheck = optIn.allowed || optIn.reason === 'SecretNotFound'
    ? checkUserSecret(user, input.secretData, pool?.spec.pinPolicy)
    : { ok: false, reason: optIn.reason, message: optIn.message };
  const conflict = lost ? describeLostClaim(lost) : undefined;
  if (conflict) check = { ok: false, ...conflict };
  else if (check.ok && !pool) check = { ok: false, reason: 'PoolNotFound', message: `pool ${user.spec.pool} not found in namespace ${namespace}` };
  else if (check.ok && !user.spec.hotDeskingEnabled) check = { ok: true, reason: 'HotDeskingDisabled', message: 'valid, but hot desking is disabled for this user (spec.hotDeskingEnabled)' };

  const activeSessions = input.sessions
    .filter((s) => s.spec.user === name && isActive(s))
    .map((s) => ({ session: s.metadata.name ?? '', device: s.spec.device }))
    .sort((a, b) => a.session.localeCompare(b.session));
  const generation = user.metadata.generation ?? 0;
  const conditions: ConditionInput[] = [{ type: 'Ready', status: check.ok ? 'True' : 'False', reason: check.reason, message: check.message, observedGeneration: generation }];
  if (conflict) conditions.push({ type: 'Conflict', status: 'True', reason: conflict.reason, message: conflict.message, observedGeneration: generation });

  const key = (c: { type: string; status: string; reason: string; message: string }) => `${c.type}/${c.status}/${c.reason}/${c.message}`;
  const before = user.status?.conditions?.filter((c) => USER_CONTROLLER_CONDITIONS.includes(c.type)) ?? [];
  const unchanged = before.map(key).sort().join('|') === conditions.map(key).sort().join('|')
    && user.status?.observedGeneration === generation
    && (user.status?.activeSessions ?? []).map((a) => `${a.session}@${a.device}`).join(',') === activeSessions.map((a) => `${a.session}@${a.device}`).join(',');
  const beforeReady = before.find((c) => c.type === 'Ready');
  const events = !check.ok && (beforeReady?.reason !== check.reason || beforeReady.message !== check.message)
    ? [{ type: 'Warning' as const, reason: check.reason, message: check.message }]
    : [];
  return { activeSessions, conditions, unchanged, events, requeueAfter: check.ok ? undefined : RECHECK_INVALID_MS };
}

export async function reconcileUser(ctx: HotDeskContext, namespace: string, name: string): Promise<ReconcileOutcome> {
  const user = ctx.caches.users.get(namespace, name);
  if (!user || user.metadata.deletionTimestamp) return;
  let secretData: Record<string, string> | undefined;
  let secretLabels: SecretLabels = null;
  try {
    const secret = await ctx.client.request<{ metadata?: { labels?: Record<string, string> }; data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${user.spec.secretRef.name}` });
    secretData = secret.data ?? {};
    secretLabels = secret.metadata?.labels ?? {};
  } catch (err) {
    if (!isStatus(err, 404)) {
      void ctx.recorder.event(user, 'Warning', 'SecretReadFailed', `could not read Secret ${user.spec.secretRef.name}: ${errorText(err)}`);
      throw err;
    }
  }
  ctx.secretLabels.remember(namespace, user.spec.secretRef.name, secretLabels);
  const plan = planUser({
    user,
    pool: ctx.caches.pools.get(namespace, user.spec.pool),
    secretData,
    secretLabels,
    lost: ctx.claims.users.lost(user),
    sessions: ctx.caches.sessions.list(namespace),
  });

  const memoKey = `user/${user.metadata.uid}`;
  const generation = user.metadata.generation ?? 0;
  const desired = { active: plan.activeSessions, generation, conditions: plan.conditions.map((c) => [c.type, c.status, c.reason, c.message]) };
  if (!plan.unchanged && !ctx.statusWrites.alreadyWritten(memoKey, user.metadata.resourceVersion, desired)) {
    const owned = user.status?.conditions?.filter((c) => USER_CONTROLLER_CONDITIONS.includes(c.type));
    const conditions = mergeConditions(owned, plan.conditions, ctx.now()).filter((c) => plan.conditions.some((n) => n.type === c.type));
    try {
      await applyStatus(ctx.client, HOTDESK_KINDS.user, {
        apiVersion: GROUP_VERSION,
        kind: HOTDESK_KINDS.user.kind,
        metadata: { name, namespace },
        status: { activeSessions: plan.activeSessions, conditions, observedGeneration: generation },
      }, { fieldManager: CONTROLLER_FIELD_MANAGER });
    } catch (err) {
      void ctx.recorder.event(user, 'Warning', 'StatusWriteFailed', `status was not written: ${errorText(err)}`);
      throw err;
    }
    ctx.statusWrites.record(memoKey, user.metadata.resourceVersion, desired);
  }
  for (const e of plan.events) void ctx.recorder.event(user, e.type, e.reason, e.message);
  return plan.requeueAfter === undefined ? undefined : { requeueAfter: plan.requeueAfter };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
