import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ProvisioningCatalog, type CatalogChange } from '../../src/edge/provisioning-catalog.ts';
import { PoolView } from '../../src/edge/pool-view.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { KubeClient } from '../../src/runtime/index.ts';
import { eventually } from '../support/eventually.ts';

const NS = 'default';
const POOL = 'floor-3';
const FILE = '00156500c0de.cfg';

let cp: ControlPlane;
let view: PoolView;
before(async () => {
  cp = await startControlPlane();
  view = new PoolView(new KubeClient(cp.kubeConfig), { namespace: NS, pool: POOL, logger: pino({ level: 'silent' }) });
});
after(async () => {
  await Promise.all(view?.informers().map((i) => i.stop()) ?? []);
  await cp?.stop();
});

const apply = async (yaml: string) => {
  const r = await cp.kubectl(['apply', '-n', NS, '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
};

/** The ConfigMap as the controller renders it for desk-1. */
const configMap = (line: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: desk-1-provisioning
  labels: {app.kubernetes.io/managed-by: hotdesk-operator, hotdesk.io/pool: ${POOL}, hotdesk.io/device: desk-1}
  annotations:
    hotdesk.io/content-types: '{"${FILE}": "text/plain; charset=utf-8"}'
    hotdesk.io/credentials: '{"secret": "desk-1-idle", "key": "password"}'
data:
  ${FILE}: "${line}\\n"
`;

const device = (authSecret: string) => `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskDevice
metadata: {name: desk-1}
spec:
  mac: 00156500c0de
  vendor: yealink
  model: T54W
  pool: ${POOL}
  idleIdentity: {username: HD0001, displayName: Hot desk 1, secretRef: {name: desk-1-idle}}
  provisioningAuth: {secretRef: {name: ${authSecret}}}
`;

test('the catalog publishes a file once its ConfigMap and device are both known, and each change to either, and nothing else', async () => {
  const catalog = new ProvisioningCatalog(view);
  const changes: CatalogChange[] = [];
  catalog.subscribe((c) => changes.push(c));
  for (const i of view.informers()) i.start();
  await Promise.all(view.informers().map((i) => i.waitForSync()));

  await apply(configMap('account.1.user_name = HD0001'));
  await eventually('the ConfigMap in the cache', async () => view.configMaps.get(NS, 'desk-1-provisioning'));
  assert.deepEqual(catalog.snapshot().upserts, [], 'no device yet: nobody could authenticate for the file');

  await apply(device('desk-1-idle'));
  await eventually('the file published', async () => changes.length === 1 || undefined);
  const [name, file] = changes[0]!.upserts[0]!;
  assert.equal(name, FILE);
  assert.deepEqual(file, {
    device: 'desk-1', username: '00156500c0de', content: 'account.1.user_name = HD0001\n', contentType: 'text/plain; charset=utf-8',
    passwordRef: { secret: 'desk-1-idle', key: 'password' }, authRef: { secret: 'desk-1-idle', key: 'provisioningPassword' },
  });
  assert.deepEqual(catalog.snapshot().upserts, [[FILE, file]]);

  await apply(configMap('account.1.user_name = 101'));
  await eventually('the re-rendered file published', async () => changes.length === 2 || undefined);
  assert.equal(changes[1]!.upserts[0]![1].content, 'account.1.user_name = 101\n');

  // A status write (registration, re-sync) changes nothing a file needs: nothing is sent.
  const patched = await cp.kubectl(['patch', 'hotdeskdevice', 'desk-1', '-n', NS, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Idle"}}']);
  assert.equal(patched.code, 0, patched.stderr);
  await eventually('the status write in the cache', async () => view.device('desk-1')?.status?.phase === 'Idle' || undefined);
  assert.equal(changes.length, 2);

  await apply(device('desk-1-auth'));
  await eventually('the new provisioning Secret published', async () => changes.length === 3 || undefined);
  assert.deepEqual(changes[2]!.upserts[0]![1].authRef, { secret: 'desk-1-auth', key: 'provisioningPassword' });

  const deleted = await cp.kubectl(['delete', 'configmap', 'desk-1-provisioning', '-n', NS]);
  assert.equal(deleted.code, 0, deleted.stderr);
  await eventually('the file withdrawn', async () => changes.length === 4 || undefined);
  assert.deepEqual(changes[3], { upserts: [], removals: [FILE] });
  assert.deepEqual(catalog.snapshot(), { upserts: [], removals: [] });
});
