import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../../src/api/index.ts';
import { SESSION_FINALIZER, ANNOTATION_LOGOUT_REQUESTED } from '../../src/api/labels.ts';
import { decideSession, MISSING_RETRY_MS, type SessionFacts, type SessionPlan } from '../../src/controller/session-decision.ts';

const NOW = new Date('2026-03-02T10:00:00Z');
const GRACE = 60_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function session(o: { phase?: string; finalizer?: boolean; created?: string; startedAt?: string; endedAt?: string; deleting?: boolean; logout?: boolean; ready?: [string, string]; origin?: string; message?: string; name?: string; device?: string; user?: string; poolLabel?: string | null } = {}): HotDeskSession {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskSession',
    metadata: {
      name: o.name ?? 's1',
      namespace: 'ns',
      uid: 'uid-s1',
      generation: 1,
      creationTimestamp: o.created ?? ago(1_000),
      ...(o.finalizer === false ? {} : { finalizers: [SESSION_FINALIZER] }),
      ...(o.deleting ? { deletionTimestamp: NOW.toISOString() } : {}),
      ...(o.logout ? { annotations: { [ANNOTATION_LOGOUT_REQUESTED]: NOW.toISOString() } } : {}),
      ...(o.poolLabel === null ? {} : { labels: { 'hotdesk.io/pool': o.poolLabel ?? 'office' } }),
    },
    spec: { device: o.device ?? 'd1', user: o.user ?? 'alice', origin: o.origin ?? 'admin' },
    ...(o.phase ? {
      status: {
        phase: o.phase,
        ...(o.startedAt ? { startedAt: o.startedAt } : {}),
        ...(o.endedAt ? { endedAt: o.endedAt } : {}),
        ...(o.message ? { message: o.message } : {}),
        ...(o.ready ? { conditions: [{ type: 'Ready', status: o.ready[0], reason: o.ready[1], message: o.message ?? '', lastTransitionTime: ago(1_000) }] } : {}),
      },
    } : {}),
  } as unknown as HotDeskSession;
}

const device = (o: { pool?: string; occupantSession?: string } = {}) => ({
  metadata: { name: 'd1', namespace: 'ns' },
  spec: { pool: o.pool ?? 'office' },
  ...(o.occupantSession ? { status: { occupant: { session: o.occupantSession, user: 'alice', extension: '101' } } } : {}),
}) as unknown as HotDeskDevice;

const user = (o: { pool?: string; enabled?: boolean; lockedUntil?: string } = {}) => ({
  metadata: { name: 'alice', namespace: 'ns' },
  spec: { pool: o.pool ?? 'office', extension: '101', hotDeskingEnabled: o.enabled ?? true },
  ...(o.lockedUntil ? { status: { lockedUntil: o.lockedUntil } } : {}),
}) as unknown as HotDeskUser;

const pool = (policy: Record<string, unknown> = {}) => ({
  metadata: { name: 'office', namespace: 'ns' },
  spec: { sessionPolicy: { loggedInElsewhere: 'kick', ...policy } },
}) as unknown as HotDeskPool;

function facts(over: Partial<SessionFacts>): SessionFacts {
  return { session: session(), device: device(), user: user(), pool: pool(), active: [], now: NOW, missingGraceMs: GRACE, ...over };
}

/** The parts of a plan a reader checks, in one line each. */
function summary(p: SessionPlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.finalizer) out.finalizer = p.finalizer;
  if (p.labels) out.labels = p.labels;
  if (p.status) out.status = `${p.status.phase}${p.status.endReason ? `/${p.status.endReason}` : ''} Ready=${p.status.ready.status}:${p.status.ready.reason}`;
  if (p.event) out.event = `${p.event.type} ${p.event.reason}`;
  if (p.metric) out.metric = 'login' in p.metric ? `login ${p.metric.login}` : `logout ${p.metric.logout}`;
  if (p.endOthers.length) out.endOthers = p.endOthers.map((o) => `${o.name}:${o.reason}`);
  if (p.confirmAbsent.length) out.confirmAbsent = p.confirmAbsent.map((r) => `${r.kind}/${r.name}`);
  if (p.releaseDevice) out.releaseDevice = true;
  if (p.deleteSession) out.deleteSession = true;
  if (p.requeueAfter !== undefined) out.requeueAfter = p.requeueAfter;
  return out;
}

test('decideSession: one plan per situation, an Event whose reason matches the condition on every failure', () => {
  const cases: Array<{ name: string; facts: Partial<SessionFacts>; want: Record<string, unknown> }> = [
    { name: 'a new session gets the finalizer first', facts: { session: session({ finalizer: false }) }, want: { finalizer: 'add' } },
    { name: 'a session made without its pool label gets it next', facts: { session: session({ poolLabel: null }) }, want: { labels: { 'hotdesk.io/pool': 'office' } } },
    { name: 'an active session without the label gets it too', facts: { session: session({ poolLabel: null, phase: 'Active', startedAt: ago(1_000) }) }, want: { labels: { 'hotdesk.io/pool': 'office' } } },
    {
      name: 'a session labelled for another pool than its device\'s is refused',
      facts: { session: session({ poolLabel: 'paris' }) },
      want: { status: 'Refused/refused Ready=False:PoolLabelMismatch', event: 'Warning PoolLabelMismatch', metric: 'login refused' },
    },
    {
      name: 'admitted on a free desk',
      facts: {},
      want: { status: 'Active Ready=False:Provisioning', event: 'Normal LoggedIn', metric: 'login success' },
    },
    {
      name: 'admission kicks the user\'s other desk',
      facts: { active: [{ name: 'old', device: 'd2', user: 'alice', createdAt: new Date(ago(60_000)) }] },
      want: { status: 'Active Ready=False:Provisioning', event: 'Normal LoggedIn', metric: 'login success', endOthers: ['old:roamed'] },
    },
    {
      name: 'refuse policy refuses a login elsewhere',
      facts: { pool: pool({ loggedInElsewhere: 'refuse' }), active: [{ name: 'old', device: 'd2', user: 'alice', createdAt: new Date(ago(60_000)) }] },
      want: { status: 'Refused/refused Ready=False:LoggedInElsewhere', event: 'Warning LoggedInElsewhere', metric: 'login refused' },
    },
    {
      name: 'a newer login on the desk supersedes this one',
      facts: { active: [{ name: 'newer', device: 'd1', user: 'bob', createdAt: new Date(NOW) }] },
      want: { status: 'Ended/superseded Ready=False:Superseded', event: 'Normal Superseded', metric: 'login superseded' },
    },
    {
      name: 'missing device within the grace: Pending with a reason, retried, nothing final',
      facts: { device: undefined, pool: undefined },
      want: { status: 'Pending Ready=False:DeviceNotFound', event: 'Warning DeviceNotFound', confirmAbsent: ['device/d1'], requeueAfter: MISSING_RETRY_MS },
    },
    {
      name: 'missing user within the grace',
      facts: { user: undefined },
      want: { status: 'Pending Ready=False:UserNotFound', event: 'Warning UserNotFound', confirmAbsent: ['user/alice'], requeueAfter: MISSING_RETRY_MS },
    },
    {
      name: 'missing pool within the grace',
      facts: { pool: undefined },
      want: { status: 'Pending Ready=False:PoolNotFound', event: 'Warning PoolNotFound', confirmAbsent: ['pool/office'], requeueAfter: MISSING_RETRY_MS },
    },
    {
      name: 'the last retry of the grace comes exactly when it ends',
      facts: { device: undefined, session: session({ created: ago(GRACE - 2_000) }) },
      want: { status: 'Pending Ready=False:DeviceNotFound', event: 'Warning DeviceNotFound', confirmAbsent: ['device/d1'], requeueAfter: 2_000 },
    },
    {
      name: 'still missing after the grace: refused, once the absence is confirmed',
      facts: { device: undefined, session: session({ created: ago(GRACE) }) },
      want: { status: 'Refused/refused Ready=False:DeviceNotFound', event: 'Warning DeviceNotFound', metric: 'login refused', confirmAbsent: ['device/d1'] },
    },
    {
      name: 'a wrong pool is refused at once',
      facts: { user: user({ pool: 'elsewhere' }) },
      want: { status: 'Refused/refused Ready=False:PoolMismatch', event: 'Warning PoolMismatch', metric: 'login refused' },
    },
    {
      name: 'hot desking disabled',
      facts: { user: user({ enabled: false }) },
      want: { status: 'Refused/refused Ready=False:HotDeskingDisabled', event: 'Warning HotDeskingDisabled', metric: 'login refused' },
    },
    {
      name: 'locked out',
      facts: { user: user({ lockedUntil: new Date(NOW.getTime() + 60_000).toISOString() }) },
      want: { status: 'Refused/refused Ready=False:LockedOut', event: 'Warning LockedOut', metric: 'login refused' },
    },
    {
      name: 'active, the device carries it: Ready becomes True',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000), ready: ['False', 'Provisioning'] }), device: device({ occupantSession: 's1' }) },
      want: { status: 'Active Ready=True:Provisioned' },
    },
    {
      name: 'active and already Ready: nothing to write',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000), ready: ['True', 'Provisioned'] }), device: device({ occupantSession: 's1' }) },
      want: {},
    },
    {
      name: 'active with a maxDuration: looked at again when it is due',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000), ready: ['True', 'Provisioned'] }), device: device({ occupantSession: 's1' }), pool: pool({ maxDuration: '10s' }) },
      want: { requeueAfter: 9_000 },
    },
    {
      name: 'active past its maxDuration: expired',
      facts: { session: session({ phase: 'Active', startedAt: ago(11_000), ready: ['True', 'Provisioned'] }), pool: pool({ maxDuration: '10s' }) },
      want: { status: 'Ended/expired Ready=False:Expired', event: 'Normal Expired', metric: 'logout expired' },
    },
    {
      name: 'logout requested by the edge',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000), logout: true }) },
      want: { status: 'Ended/logout Ready=False:Logout', event: 'Normal Logout', metric: 'logout logout' },
    },
    {
      name: 'device deleted while active',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000) }), device: undefined, pool: undefined },
      want: { status: 'Ended/deviceGone Ready=False:DeviceGone', event: 'Warning DeviceGone', metric: 'logout deviceGone', confirmAbsent: ['device/d1'] },
    },
    {
      name: 'user deleted while active',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000) }), user: undefined },
      want: { status: 'Ended/userGone Ready=False:UserGone', event: 'Warning UserGone', metric: 'logout userGone', confirmAbsent: ['user/alice'] },
    },
    {
      name: 'pool deleted while active',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000) }), pool: undefined },
      want: { status: 'Ended/poolGone Ready=False:PoolGone', event: 'Warning PoolGone', metric: 'logout poolGone', confirmAbsent: ['pool/office'] },
    },
    {
      name: 'hot desking disabled while active',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000) }), user: user({ enabled: false }) },
      want: { status: 'Ended/disabled Ready=False:Disabled', event: 'Normal Disabled', metric: 'logout disabled' },
    },
    {
      name: 'deleting an active session is a forced logout: device to idle, then the finalizer goes',
      facts: { session: session({ phase: 'Active', startedAt: ago(1_000), deleting: true }) },
      want: { finalizer: 'remove', event: 'Normal Forced', metric: 'logout forced', releaseDevice: true },
    },
    {
      name: 'deleting a pending session releases the device without counting a logout',
      facts: { session: session({ deleting: true }) },
      want: { finalizer: 'remove', releaseDevice: true },
    },
    { name: 'a deleted session without the finalizer needs nothing', facts: { session: session({ deleting: true, finalizer: false }) }, want: {} },
    { name: 'an ended session drops the finalizer', facts: { session: session({ phase: 'Ended', endedAt: ago(1_000) }) }, want: { finalizer: 'remove' } },
    {
      name: 'an ended session stays for the retention',
      facts: { session: session({ phase: 'Ended', endedAt: ago(1_000), finalizer: false }), pool: pool({ retention: '10s' }) },
      want: { requeueAfter: 9_000 },
    },
    {
      name: 'after the retention it is deleted, also when its pool is gone (24h default)',
      facts: { session: session({ phase: 'Refused', endedAt: ago(25 * 3600_000), finalizer: false }), pool: undefined },
      want: { deleteSession: true },
    },
  ];
  for (const c of cases) assert.deepEqual(summary(decideSession(facts(c.facts))), c.want, c.name);
});

test('a login waiting for a missing device writes its status and Event once, then only retries', () => {
  const first = decideSession(facts({ device: undefined }));
  assert.ok(first.status);
  assert.match(first.status.message ?? '', /device d1 not found in namespace ns; the login waits for it until 2026-03-02T10:00:59.000Z, then is refused/);
  const written = session({ phase: 'Pending', message: first.status.message, ready: ['False', 'DeviceNotFound'] });
  const again = decideSession(facts({ device: undefined, session: written }));
  assert.deepEqual(summary(again), { confirmAbsent: ['device/d1'], requeueAfter: MISSING_RETRY_MS });
});

test('an end keeps startedAt and reports how long the session lasted', () => {
  const plan = decideSession(facts({ session: session({ phase: 'Active', startedAt: ago(90_000) }), pool: undefined }));
  assert.equal(plan.status?.startedAt, ago(90_000));
  assert.equal(plan.status?.endedAt, NOW.toISOString());
  assert.deepEqual(plan.metric, { logout: 'poolGone', pool: 'office', durationSeconds: 90 });
  assert.match(plan.status?.message ?? '', /pool office of device d1 was deleted/);
});
