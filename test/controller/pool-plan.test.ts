import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeWriteFailureReason, planPool, type PoolPlanInput } from '../../src/controller/pool-reconciler.ts';
import { deviceObject, poolObject, userObject } from './objects.ts';

/** Every Secret labelled for the pool the objects are in. */
const optedIn = () => ({ 'hotdesk.io/pool': poolObject().metadata.name ?? '' });

const input = (over: Partial<PoolPlanInput> = {}): PoolPlanInput => ({
  pool: poolObject(), users: [userObject()], devices: [deviceObject()], deployment: undefined, defaultImage: 'img', secretLabels: optedIn, ...over,
});

test('the pool plan writes every edge object under the derived name, the Deployment last', () => {
  const plan = planPool(input({ pool: poolObject('london.office') }));
  assert.deepEqual(plan.objects.map((o) => o.kind.kind), ['ServiceAccount', 'Role', 'RoleBinding', 'Service', 'Deployment']);
  const names = new Set(plan.objects.map((o) => o.object.metadata?.name));
  assert.equal(names.size, 1);
  assert.match([...names][0]!, /^edge-london-office-[0-9a-f]{8}$/);
  for (const o of plan.objects) assert.equal(o.object.metadata?.ownerReferences?.[0]?.name, 'london.office');
});

test('the pool plan: edge objects only when they changed, conditions and Events', () => {
  const first = planPool(input());
  const checksum = (first.objects.at(-1)!.object.metadata?.annotations ?? {})['hotdesk.io/objects-checksum'];
  const deployment = (ready: number) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'office-edge', annotations: { 'hotdesk.io/objects-checksum': checksum! } }, status: { readyReplicas: ready } });
  const table: { what: string; input: PoolPlanInput; objects: number; ready: [string, string]; degraded?: string; events: string[] }[] = [
    { what: 'a new pool', input: input(), objects: 5, ready: ['False', 'EdgeNotReady'], events: ['Warning/EdgeNotReady'] },
    { what: 'the edge as cached and ready', input: input({ deployment: deployment(1) }), objects: 0, ready: ['True', 'EdgeAvailable'], events: ['Normal/EdgeAvailable'] },
    { what: 'scaled to zero', input: input({ pool: poolObject('office', { edge: { ...poolObject().spec.edge, replicas: 0 } }) }), objects: 5, ready: ['False', 'EdgeScaledDown'], events: ['Warning/EdgeScaledDown'] },
    {
      what: 'codes stored before the emergency rule existed',
      input: input({ deployment: deployment(1), pool: poolObject('office', { featureCodes: { preset: '3cx', login: '112' } }) }),
      objects: 5, ready: ['True', 'EdgeAvailable'], degraded: 'FeatureCodesClash', events: ['Normal/EdgeAvailable', 'Warning/FeatureCodesClash'],
    },
  ];
  for (const row of table) {
    const plan = planPool(row.input);
    assert.equal(plan.objects.length, row.objects, `${row.what}: objects`);
    const r = plan.conditions.find((c) => c.type === 'Ready');
    assert.deepEqual([r?.status, r?.reason], row.ready, `${row.what}: Ready`);
    assert.equal(plan.conditions.find((c) => c.type === 'Degraded')?.reason, row.degraded, `${row.what}: Degraded`);
    assert.deepEqual(plan.events.map((e) => `${e.type}/${e.reason}`), row.events, `${row.what}: events`);
  }
});

test('the pool plan counts devices and occupied desks; an unchanged status is not written again', () => {
  const occupied = deviceObject('desk-2', { phase: 'Occupied' });
  const plan = planPool(input({ devices: [deviceObject(), occupied] }));
  assert.deepEqual(plan.status, { edgeReadyReplicas: 0, devices: 2, occupiedDevices: 1, observedGeneration: 1 });
  assert.equal(plan.unchanged, false);
  const again = planPool(input({
    devices: [deviceObject(), occupied],
    pool: poolObject('office', {}, { ...plan.status, conditions: plan.conditions.map((c) => ({ ...c, lastTransitionTime: '2025-01-01T00:00:00Z' })) }),
  }));
  assert.equal(again.unchanged, true);
  assert.deepEqual(again.events, []);
});

test('the reason of a failed edge write names the object and the failure', () => {
  assert.equal(edgeWriteFailureReason('Service', 422), 'EdgeServiceInvalid');
  assert.equal(edgeWriteFailureReason('Deployment', 403), 'EdgeDeploymentForbidden');
  assert.equal(edgeWriteFailureReason('Role', 500), 'EdgeRoleWriteFailed');
});
