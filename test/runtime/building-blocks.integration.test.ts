import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { applyObject, applyStatus } from '../../src/runtime/apply.ts';
import { setCondition, type Condition } from '../../src/runtime/conditions.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { addFinalizer, removeFinalizer, hasFinalizer } from '../../src/runtime/finalizers.ts';
import { Informer } from '../../src/runtime/informer.ts';
import { controllerOf, withControllerReference } from '../../src/runtime/owner.ts';
import { CORE_KINDS, collectionPath, objectPath, type KindDescriptor, type KubeObject } from '../../src/runtime/resource.ts';
import { KubeClient, isStatus } from '../../src/runtime/rest.ts';
import { waitFor } from '../fixtures/runtime/harness.ts';

const WIDGET: KindDescriptor = { group: 'runtime.test', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };
const CRD = new URL('../fixtures/runtime/widget-crd.yaml', import.meta.url).pathname;
const MANAGER = 'runtime-blocks';

interface Widget extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

let cp: ControlPlane;
let client: KubeClient;
const informers: Informer[] = [];

before(async () => {
  cp = await startControlPlane({ installCrds: false });
  client = new KubeClient(cp.kubeConfig);
  const applied = await cp.kubectl(['apply', '-f', CRD]);
  assert.equal(applied.code, 0, applied.stderr);
  const ready = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRD]);
  assert.equal(ready.code, 0, ready.stderr);
});

after(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  await cp?.stop();
});

test('informer of a custom resource serves cached reads and sees adds, updates and deletes', async () => {
  const inf = new Informer<Widget>(client, { kind: WIDGET, namespace: 'default', resyncPeriodMs: 300 });
  informers.push(inf);
  const seen: string[] = [];
  let resyncs = 0;
  inf.addHandler({
    onAdd: (o) => seen.push(`add ${o.metadata?.name}`),
    onUpdate: (o, n) => (o === n ? resyncs++ : seen.push(`update ${n.metadata?.name}`)),
    onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  assert.equal(inf.hasSynced(), false);
  await applyObject(client, WIDGET, { metadata: { name: 'w-cache', namespace: 'default' }, spec: { size: 1 } }, { fieldManager: MANAGER });
  inf.start();
  assert.equal(await inf.waitForSync(), true);
  assert.equal(inf.hasSynced(), true);
  assert.equal(inf.get('default', 'w-cache')?.spec?.size, 1);
  assert.equal(inf.get('default', 'w-cache')?.kind, 'Widget');

  await applyObject(client, WIDGET, { metadata: { name: 'w-cache', namespace: 'default' }, spec: { size: 2 } }, { fieldManager: MANAGER });
  await waitFor(() => inf.get('default', 'w-cache')?.spec?.size === 2, 10_000, 'update in cache');
  await applyObject(client, WIDGET, { metadata: { name: 'w-other', namespace: 'default' }, spec: {} }, { fieldManager: MANAGER });
  await waitFor(() => inf.list('default').length === 2, 10_000, 'second widget in cache');
  await client.request({ method: 'DELETE', path: objectPath(WIDGET, 'default', 'w-other') });
  await waitFor(() => inf.get('default', 'w-other') === undefined, 10_000, 'delete in cache');
  await waitFor(() => resyncs >= 2, 10_000, 'periodic resync');
  assert.deepEqual(seen, ['add w-cache', 'update w-cache', 'add w-other', 'delete w-other']);
});

test('status is applied through the status subresource with conditions that keep their transition time', async () => {
  const created = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-status', namespace: 'default' }, spec: { size: 3 } }, { fieldManager: MANAGER });
  const gen = created.metadata?.generation;
  const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Built', message: 'ok', observedGeneration: gen }, new Date('2025-01-01T00:00:00Z'));
  await applyStatus(client, WIDGET, { metadata: { name: 'w-status', namespace: 'default' }, status: { observedGeneration: gen, conditions: first } }, { fieldManager: MANAGER });
  const later = setCondition(first, { type: 'Ready', status: 'True', reason: 'StillBuilt', message: 'ok', observedGeneration: gen }, new Date('2025-02-01T00:00:00Z'));
  const after = await applyStatus<Widget>(client, WIDGET, { metadata: { name: 'w-status', namespace: 'default' }, status: { observedGeneration: gen, conditions: later } }, { fieldManager: MANAGER });
  assert.equal(after.status?.conditions?.[0]?.reason, 'StillBuilt');
  assert.equal(after.status?.conditions?.[0]?.lastTransitionTime, '2025-01-01T00:00:00Z');
  assert.equal(after.spec?.size, 3, 'applying status leaves spec alone');
  const managers = (after.metadata?.managedFields as Array<{ manager: string; subresource?: string }>).filter((m) => m.manager === MANAGER).map((m) => m.subresource ?? '');
  assert.deepEqual(managers.sort(), ['', 'status']);

  // The main resource ignores status, as the apiserver does for kinds with a status subresource.
  const viaMain = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-status', namespace: 'default' }, spec: { size: 3 }, status: { observedGeneration: 99 } }, { fieldManager: MANAGER });
  assert.equal(viaMain.status?.observedGeneration, gen);
});

test('finalizers are added and removed, and deletion waits for them', async () => {
  const w = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-final', namespace: 'default' } }, { fieldManager: MANAGER });
  const withF = await addFinalizer(client, WIDGET, w, 'runtime.test/cleanup');
  assert.equal(hasFinalizer(withF, 'runtime.test/cleanup'), true);
  assert.equal(await addFinalizer(client, WIDGET, withF, 'runtime.test/cleanup'), withF, 'adding twice changes nothing');
  await assert.rejects(addFinalizer(client, WIDGET, w, 'runtime.test/other'), (err) => isStatus(err, 409), 'a stale object is refused');

  await client.request({ method: 'DELETE', path: objectPath(WIDGET, 'default', 'w-final') });
  const deleting = await client.request<Widget>({ method: 'GET', path: objectPath(WIDGET, 'default', 'w-final') });
  assert.ok(deleting.metadata?.deletionTimestamp, 'held by the finalizer');
  await removeFinalizer(client, WIDGET, deleting, 'runtime.test/cleanup');
  await waitFor(async () => {
    try {
      await client.request({ method: 'GET', path: objectPath(WIDGET, 'default', 'w-final') });
      return false;
    } catch (err) {
      return isStatus(err, 404);
    }
  }, 10_000, 'widget gone');
});

test('controller owner references point at the owner and refuse a second controller', async () => {
  const owner = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-owner', namespace: 'default' } }, { fieldManager: MANAGER });
  const other = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-rival', namespace: 'default' } }, { fieldManager: MANAGER });
  const cm = await applyObject<KubeObject>(client, CORE_KINDS.configMap, {
    metadata: { name: 'owned-cm', namespace: 'default', ownerReferences: withControllerReference({}, owner, WIDGET) },
    data: { a: 'b' },
  }, { fieldManager: MANAGER });
  const ref = controllerOf(cm);
  assert.deepEqual(ref, { apiVersion: 'runtime.test/v1', kind: 'Widget', name: 'w-owner', uid: owner.metadata?.uid, controller: true, blockOwnerDeletion: true });
  assert.throws(() => withControllerReference(cm, other, WIDGET), /already controlled by Widget\/w-owner/);
  assert.equal(withControllerReference(cm, owner, WIDGET).length, 1);
});

test('identical events are aggregated into one Event with a growing count', async () => {
  const regarding = await applyObject<Widget>(client, WIDGET, { metadata: { name: 'w-events', namespace: 'default' } }, { fieldManager: MANAGER });
  const recorder = new EventRecorder({ client, component: 'runtime-test', host: 'test-host' });
  await Promise.all(Array.from({ length: 5 }, () => recorder.event(regarding, 'Warning', 'SyncFailed', 'upstream unreachable')));
  await recorder.event(regarding, 'Normal', 'Synced', 'all good');
  const list = await client.request<{ items: Array<{ reason: string; type: string; count: number; message: string; involvedObject: { kind: string; name: string; uid: string }; source: { component: string } }> }>({
    method: 'GET',
    path: collectionPath(CORE_KINDS.event, 'default'),
    query: { fieldSelector: 'involvedObject.name=w-events' },
  });
  const byReason = new Map(list.items.map((e) => [e.reason, e]));
  assert.equal(list.items.length, 2, JSON.stringify(list.items.map((e) => [e.reason, e.count])));
  assert.equal(byReason.get('SyncFailed')?.count, 5);
  assert.equal(byReason.get('SyncFailed')?.type, 'Warning');
  assert.equal(byReason.get('SyncFailed')?.involvedObject.uid, regarding.metadata?.uid);
  assert.equal(byReason.get('SyncFailed')?.involvedObject.kind, 'Widget');
  assert.equal(byReason.get('Synced')?.count, 1);
  assert.equal(byReason.get('Synced')?.source.component, 'runtime-test');
});
