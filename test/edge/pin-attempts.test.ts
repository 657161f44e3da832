/**
 * PIN attempts against the real API server: two edge replicas (two clients) reserving attempts for
 * one user in parallel, as parallel calls at several desks do. The resourceVersion precondition is
 * what makes the count exact, so this runs against kube-apiserver and etcd, not a fake.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PinAttempts, PIN_LOCKOUT_REASON, type ReserveResult } from '../../src/edge/pin-attempts.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { CORE_KINDS, collectionPath, EventRecorder, KubeClient } from '../../src/runtime/index.ts';
import type { PinAttempt } from '../../src/policy/pin.ts';
import { eventually } from '../support/eventually.ts';

const NS = 'default';
const POLICY = { maxAttempts: 3, lockoutMs: 15 * 60_000 };

let cp: ControlPlane;
let replicas: PinAttempts[];
let client: KubeClient;
before(async () => {
  cp = await startControlPlane();
  client = new KubeClient(cp.kubeConfig);
  const logger = pino({ level: 'silent' });
  replicas = [0, 1].map(() => {
    const c = new KubeClient(cp.kubeConfig);
    return new PinAttempts({ client: c, namespace: NS, recorder: new EventRecorder({ client: c, component: 'hotdesk-edge', logger }), logger });
  });
});
after(async () => {
  await cp?.stop();
});

async function apply(yaml: string): Promise<void> {
  const r = await cp.kubectl(['apply', '-n', NS, '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function createUserAndDesk(user: string, desk: string): Promise<void> {
  await apply(`apiVersion: hotdesk.io/v1alpha1
kind: HotDeskUser
metadata: {name: ${user}}
spec: {pool: office, extension: "${100 + Math.floor(Math.random() * 800)}", secretRef: {name: ${user}-sip}}
---
apiVersion: hotdesk.io/v1alpha1
kind: HotDeskDevice
metadata: {name: ${desk}}
spec:
  mac: "00156500${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}"
  vendor: yealink
  model: T54W
  pool: office
  idleIdentity: {username: HD${desk}, secretRef: {name: ${desk}-idle}}
`);
}

async function status(kind: string, name: string): Promise<any> {
  const r = await cp.kubectl(['get', kind, name, '-n', NS, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).status ?? {};
}

async function lockoutEvents(name: string): Promise<any[]> {
  const list = await client.request<{ items: any[] }>({ method: 'GET', path: collectionPath(CORE_KINDS.event, NS), query: { fieldSelector: `involvedObject.name=${name},reason=${PIN_LOCKOUT_REASON}` } });
  return list.items;
}

function reserved(results: ReserveResult[]): PinAttempt[] {
  return results.flatMap((r) => (r.kind === 'reserved' ? [r.attempt] : []));
}

test('20 parallel reservations from two replicas land exactly maxAttempts; the last wrong PIN starts one lockout, with one Event each on user and desk', async () => {
  await createUserAndDesk('bob', 'desk-1');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.reserve('bob', POLICY)));
  const attempts = reserved(results);
  assert.deepEqual(attempts.map((a) => a.attempt).sort(), [1, 2, 3], 'each attempt number handed out once');
  assert.equal(attempts.filter((a) => a.final).length, 1);
  assert.ok(results.filter((r) => r.kind === 'locked').length === 17);
  const locked = await status('hotdeskuser', 'bob');
  assert.equal(locked.failedPinAttempts, 3);
  assert.ok(Date.parse(locked.lockedUntil) > Date.now() + 14 * 60_000, 'the last reservation wrote the lock');

  // Every reserved check finds a wrong PIN: only the final one starts the lockout.
  const ends = await Promise.all(attempts.map((a, i) => replicas[i % 2]!.wrongPin('bob', 'desk-1', a)));
  assert.equal(ends.filter((e) => e !== undefined).length, 1);
  const desk = await status('hotdeskdevice', 'desk-1');
  assert.equal(desk.lockedUntil, locked.lockedUntil, 'the desk is locked as long as the user');
  const userEvents = await eventually('PinLockout Event on bob', async () => ((await lockoutEvents('bob')).length > 0 ? lockoutEvents('bob') : undefined));
  assert.equal(userEvents.length, 1);
  assert.equal(userEvents[0].type, 'Warning');
  assert.equal(userEvents[0].involvedObject.kind, 'HotDeskUser');
  const deskEvents = await lockoutEvents('desk-1');
  assert.equal(deskEvents.length, 1);
  assert.equal(deskEvents[0].involvedObject.kind, 'HotDeskDevice');

  // Locked: nothing more is reserved, from either replica.
  assert.deepEqual((await Promise.all(replicas.map((r) => r.reserve('bob', POLICY)))).map((r) => r.kind), ['locked', 'locked']);
  assert.equal((await status('hotdeskuser', 'bob')).failedPinAttempts, 3);
});

test("an earlier call's right PIN cannot clear a newer lockout", async () => {
  await createUserAndDesk('carol', 'desk-2');
  const [a, b] = replicas as [PinAttempts, PinAttempts];
  // Call A (replica 0) reserves its check first; call B (replica 1) then guesses twice and is locked out.
  const early = await a.reserve('carol', POLICY);
  assert.equal(early.kind, 'reserved');
  const b1 = await b.reserve('carol', POLICY);
  const b2 = await b.reserve('carol', POLICY);
  assert.ok(b1.kind === 'reserved' && b2.kind === 'reserved' && b2.attempt.final);
  await b.wrongPin('carol', 'desk-2', b1.attempt);
  const until = await b.wrongPin('carol', 'desk-2', b2.attempt);
  assert.ok(until);
  // A's PIN was right, but its reservation is older than the lock: the lock stays, and A is told so.
  const verdict = await a.rightPin('carol', (early as Extract<ReserveResult, { kind: 'reserved' }>).attempt);
  assert.deepEqual(verdict, { kind: 'locked', until });
  const after = await status('hotdeskuser', 'carol');
  assert.equal(after.lockedUntil, until.toISOString());
  assert.equal(after.failedPinAttempts, 3);
});

test('a right PIN resets the count, and on the last attempt lifts the lock its own reservation wrote', async () => {
  await createUserAndDesk('dave', 'desk-3');
  const [a] = replicas as [PinAttempts];
  const first = await a.reserve('dave', POLICY);
  assert.ok(first.kind === 'reserved');
  assert.deepEqual(await a.rightPin('dave', first.attempt), { kind: 'admit' });
  assert.equal((await status('hotdeskuser', 'dave')).failedPinAttempts, 0);

  for (let i = 0; i < 2; i++) {
    const r = await a.reserve('dave', POLICY);
    assert.ok(r.kind === 'reserved');
    await a.wrongPin('dave', 'desk-3', r.attempt);
  }
  const last = await a.reserve('dave', POLICY);
  assert.ok(last.kind === 'reserved' && last.attempt.final);
  assert.ok((await status('hotdeskuser', 'dave')).lockedUntil, 'locked while the last check runs');
  assert.deepEqual(await a.rightPin('dave', last.attempt), { kind: 'admit' });
  const after = await status('hotdeskuser', 'dave');
  assert.equal(after.failedPinAttempts, 0);
  assert.equal(after.lockedUntil, undefined);
  assert.equal((await status('hotdeskdevice', 'desk-3')).lockedUntil, undefined, 'no lockout, no desk lock');
  assert.deepEqual(await lockoutEvents('dave'), []);
});

test('an expired lockout starts a fresh count', async () => {
  await createUserAndDesk('erin', 'desk-4');
  const [a] = replicas as [PinAttempts];
  const short = { maxAttempts: 1, lockoutMs: 1_000 };
  const only = await a.reserve('erin', short);
  assert.ok(only.kind === 'reserved' && only.attempt.final);
  await a.wrongPin('erin', 'desk-4', only.attempt);
  assert.equal((await a.reserve('erin', short)).kind, 'locked');
  await new Promise((r) => setTimeout(r, 1_100));
  const fresh = await a.reserve('erin', short);
  assert.ok(fresh.kind === 'reserved' && fresh.attempt.attempt === 1);
});
