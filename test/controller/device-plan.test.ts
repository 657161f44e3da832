import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configMapFailureReason, planDevice, planWriteFailure, type DevicePlanInput } from '../../src/controller/device-plan.ts';
import { ANNOTATION_REVISION } from '../../src/api/labels.ts';
import { activeSession, deviceObject, poolObject, userObject } from './objects.ts';

const input = (over: Partial<DevicePlanInput> = {}): DevicePlanInput => ({
  device: deviceObject(),
  pool: poolObject(),
  occupancy: undefined,
  customTemplate: undefined,
  lost: undefined,
  cachedConfigMap: undefined,
  secretLabels: () => ({ 'hotdesk.io/pool': 'office' }),
  ...over,
});

const idle = planDevice(input());
const idleRevision = idle.status.configRevision ?? '';
const cachedAt = (revision: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'desk-1-provisioning', namespace: 'ns', annotations: { [ANNOTATION_REVISION]: revision } } });

test('the device plan: which ConfigMap, which status, which Events', () => {
  const table: {
    what: string;
    input: DevicePlanInput;
    configMap: boolean;
    deleteConfigMap?: string;
    phase: string;
    provisioned: [string, string];
    conflict?: string;
    events: string[];
    eventsIfWritten?: string[];
  }[] = [
    { what: 'a new idle device: file and status, Provisioned once written', input: input(), configMap: true, phase: 'Idle', provisioned: ['True', 'Idle'], events: [], eventsIfWritten: ['Normal/Provisioned'] },
    {
      what: 'the file as cached already: status only, no Event',
      input: input({ cachedConfigMap: cachedAt(idleRevision), device: deviceObject('desk-1', { phase: 'Idle', configRevision: idleRevision }) }),
      configMap: false, phase: 'Idle', provisioned: ['True', 'Idle'], events: [], eventsIfWritten: [],
    },
    {
      what: 'occupied: the user\'s configuration',
      input: input({ occupancy: { session: activeSession('s1', 'desk-1', 'alice'), user: userObject() } }),
      configMap: true, phase: 'Occupied', provisioned: ['True', 'Occupied'], events: [], eventsIfWritten: ['Normal/Provisioned'],
    },
    {
      what: 'an idle account Secret not labelled for the pool: Error naming the field, no file',
      input: input({ secretLabels: (s): Record<string, string> => (s === deviceObject().spec.idleIdentity.secretRef.name ? {} : { 'hotdesk.io/pool': 'office' }) }),
      configMap: false, phase: 'Error', provisioned: ['False', 'SecretNotOptedIn'], events: ['Warning/SecretNotOptedIn'],
    },
    {
      what: 'a Secret labelled for another pool',
      input: input({ secretLabels: () => ({ 'hotdesk.io/pool': 'paris' }) }),
      configMap: false, phase: 'Error', provisioned: ['False', 'SecretForOtherPool'], events: ['Warning/SecretForOtherPool'],
    },
    { what: 'no pool: Error, nothing written but status', input: input({ pool: undefined }), configMap: false, phase: 'Error', provisioned: ['False', 'PoolNotFound'], events: ['Warning/PoolNotFound'] },
    {
      what: 'no pool, already reported: no second Event',
      input: input({ pool: undefined, device: deviceObject('desk-1', { phase: 'Error', conditions: [{ type: 'Provisioned', status: 'False', reason: 'PoolNotFound', message: 'pool office not found in namespace ns: create it or fix spec.pool', lastTransitionTime: '2025-01-01T00:00:00Z' }] }) }),
      configMap: false, phase: 'Error', provisioned: ['False', 'PoolNotFound'], events: [],
    },
    {
      what: 'custom vendor without its template',
      input: input({ device: deviceObject('desk-1', undefined, { vendor: 'custom', customTemplate: { configMapRef: { name: 'tpl', key: 'cfg' } } }) }),
      configMap: false, phase: 'Error', provisioned: ['False', 'TemplateNotFound'], events: ['Warning/TemplateNotFound'],
    },
    {
      what: 'a MAC an older device holds: Conflict, and its stale file is deleted',
      input: input({ lost: { claim: { kind: 'mac', key: 'k', value: '805ec0a1b2c3' }, holder: { kind: 'HotDeskDevice', metadata: { name: 'desk-0' } } }, cachedConfigMap: cachedAt('old') }),
      configMap: false, deleteConfigMap: 'desk-1-provisioning', phase: 'Error', provisioned: ['False', 'DuplicateMAC'], conflict: 'DuplicateMAC', events: ['Warning/DuplicateMAC'],
    },
    {
      what: 'an idle account an older device of the pool holds',
      input: input({ lost: { claim: { kind: 'idleAccount', key: 'k', value: 'HD0001', pool: 'office' }, holder: { kind: 'HotDeskDevice', metadata: { name: 'desk-0' } } } }),
      configMap: false, phase: 'Error', provisioned: ['False', 'DuplicateIdleAccount'], conflict: 'DuplicateIdleAccount', events: ['Warning/DuplicateIdleAccount'],
    },
  ];
  for (const row of table) {
    const plan = planDevice(row.input);
    assert.equal(plan.configMap !== undefined, row.configMap, `${row.what}: configMap`);
    assert.equal(plan.deleteConfigMap, row.deleteConfigMap, `${row.what}: deleteConfigMap`);
    assert.equal(plan.status.phase, row.phase, `${row.what}: phase`);
    const provisioned = plan.conditions.find((c) => c.type === 'Provisioned');
    assert.deepEqual([provisioned?.status, provisioned?.reason], row.provisioned, `${row.what}: Provisioned`);
    assert.equal(plan.conditions.find((c) => c.type === 'Conflict')?.reason, row.conflict, `${row.what}: Conflict`);
    assert.deepEqual(plan.events.map((e) => `${e.type}/${e.reason}`), row.events, `${row.what}: events`);
    assert.deepEqual(plan.eventsIfWritten.map((e) => `${e.type}/${e.reason}`), row.eventsIfWritten ?? [], `${row.what}: events if written`);
  }
});

test('the planned ConfigMap carries labels, revision and owner; never a secret', () => {
  const cm = idle.configMap as any;
  assert.equal(cm.metadata.name, 'desk-1-provisioning');
  assert.deepEqual(cm.metadata.labels, { 'app.kubernetes.io/managed-by': 'hotdesk-operator', 'hotdesk.io/pool': 'office', 'hotdesk.io/device': 'desk-1' });
  assert.equal(cm.metadata.annotations[ANNOTATION_REVISION], idleRevision);
  assert.equal(cm.metadata.ownerReferences[0].name, 'desk-1');
  assert.deepEqual(JSON.parse(cm.metadata.annotations['hotdesk.io/credentials']), { secret: 'idle', key: 'password' });
});

test('a failed write leaves Error, the failure as reason, and the last revision that was written', () => {
  const device = deviceObject('desk-1', { phase: 'Idle', configRevision: 'r1' });
  const failure = planWriteFailure(device, 'ConfigMapInvalid', 'provisioning ConfigMap desk-1-provisioning was not written: 422');
  assert.deepEqual(failure.status, { phase: 'Error', configRevision: 'r1' });
  assert.deepEqual(failure.conditions.map((c) => [c.type, c.status, c.reason]), [['Provisioned', 'False', 'ConfigMapInvalid']]);
  assert.deepEqual(failure.events.map((e) => [e.type, e.reason]), [['Warning', 'ConfigMapInvalid']]);
});

test('the reason of a failed ConfigMap write names the failure', () => {
  const table: [number | undefined, string][] = [[422, 'ConfigMapInvalid'], [403, 'ConfigMapForbidden'], [409, 'ConfigMapConflict'], [500, 'ConfigMapWriteFailed'], [undefined, 'ConfigMapWriteFailed']];
  for (const [code, reason] of table) assert.equal(configMapFailureReason(code), reason, String(code));
});
