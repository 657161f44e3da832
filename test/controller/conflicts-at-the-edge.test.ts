/**
 * The edge decides conflicts by the same rule as the controller (src/api/conflicts.ts), from its
 * own caches: the newer of two devices or users claiming one MAC, idle account or extension is
 * neither served nor attributed, and the older one goes on working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PoolView } from '../../src/edge/pool-view.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { KubeClient } from '../../src/runtime/index.ts';
import { eventually } from '../support/eventually.ts';

const NS = 'default';
const POOL = 'floor-3';

let cp: ControlPlane;
let view: PoolView;
before(async () => {
  cp = await startControlPlane();
  view = new PoolView(new KubeClient(cp.kubeConfig), { namespace: NS, pool: POOL, logger: pino({ level: 'silent' }) });
  for (const i of view.informers()) i.start();
  await Promise.all(view.informers().map((i) => i.waitForSync()));
});
after(async () => {
  await Promise.all(view?.informers().map((i) => i.stop()) ?? []);
  await cp?.stop();
});

const apply = async (yaml: string) => {
  const r = await cp.kubectl(['apply', '-n', NS, '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
};

const device = (name: string, mac: string, account: string) => `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskDevice
metadata: {name: ${name}}
spec: {mac: "${mac}", vendor: yealink, model: T54W, pool: ${POOL}, idleIdentity: {username: ${account}, secretRef: {name: idle}}}
`;

const user = (name: string, extension: string) => `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskUser
metadata: {name: ${name}}
spec: {pool: ${POOL}, extension: "${extension}", secretRef: {name: ${name}-sip}}
`;

test('two devices with one idle account: calls from it are the older desk\'s, the newer desk is not seen', async () => {
  await apply(device('desk-a', '00156500f001', 'HD0001'));
  await eventually('desk-a in the view', async () => view.device('desk-a'));
  await apply(device('desk-b', '00156500f002', 'HD0001'));
  await eventually('desk-b in the cache', async () => view.devices.get(NS, 'desk-b'));
  assert.equal(view.deskOf('HD0001')?.device.metadata.name, 'desk-a');
  assert.equal(view.device('desk-b'), undefined);

  const deleted = await cp.kubectl(['delete', 'hotdeskdevice', 'desk-a', '-n', NS]);
  assert.equal(deleted.code, 0, deleted.stderr);
  await eventually('desk-b takes the account over', async () => view.deskOf('HD0001')?.device.metadata.name === 'desk-b' || undefined);
  assert.ok(view.device('desk-b'));
});

test('two devices with one MAC: the newer is neither served nor attributed', async () => {
  await apply(device('desk-c', '00156500f003', 'HD0003'));
  await eventually('desk-c in the view', async () => view.device('desk-c'));
  await apply(device('desk-d', '00156500f003', 'HD0004'));
  await eventually('desk-d in the cache', async () => view.devices.get(NS, 'desk-d'));
  assert.equal(view.device('desk-d'), undefined);
  assert.equal(view.deskOf('HD0004'), undefined, 'no call is attributed to the newer desk');
  assert.equal(view.deskOf('HD0003')?.device.metadata.name, 'desk-c');
});

test('two users with one extension: logins by extension reach the older user only', async () => {
  await apply(user('alice', '101'));
  await eventually('alice in the view', async () => view.userByExtension('101'));
  await apply(user('mallory', '101'));
  await eventually('mallory in the cache', async () => view.users.get(NS, 'mallory'));
  assert.equal(view.userByExtension('101')?.metadata.name, 'alice');
  assert.equal(view.user('mallory'), undefined);
  assert.ok(view.user('alice'));

  await apply(user('mallory', '109'));
  await eventually('mallory on her own extension', async () => view.userByExtension('109')?.metadata.name === 'mallory' || undefined);
  assert.equal(view.userByExtension('101')?.metadata.name, 'alice');
  assert.ok(view.user('mallory'));
});
