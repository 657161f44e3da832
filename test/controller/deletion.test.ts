import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { kubectlHelpers } from './kubectl-helpers.ts';
import { createController } from '../../src/controller/controller.ts';
import type { Manager } from '../../src/runtime/index.ts';
import { eventually } from '../support/eventually.ts';
import { deviceYaml, namespaceYaml, poolYaml, sessionYaml, userYaml } from './manifests.ts';

/** Short, so the test sees a missing device's login refused; the shipped default is 60 s. */
const GRACE_MS = 6_000;

let cp: ControlPlane;
let mgr: Manager;

const { apply, getJson } = kubectlHelpers(() => cp);

async function deleteObject(ns: string, kind: string, name: string): Promise<void> {
  const r = await cp.kubectl(['delete', kind, name, '--wait=false'], { namespace: ns });
  assert.equal(r.code, 0, r.stderr);
}

const sessionStatus = async (ns: string, name: string) => (await getJson<any>(ns, 'hotdesksession', name))?.status;
const ready = (status: any) => status?.conditions?.find((c: any) => c.type === 'Ready');

async function eventReasons(ns: string, name: string): Promise<string[]> {
  const r = await cp.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={.items[*].reason}'], { namespace: ns });
  return r.stdout.split(/\s+/).filter(Boolean);
}

async function ended(ns: string, name: string): Promise<any> {
  return eventually(`${name} ended`, async () => {
    const s = await sessionStatus(ns, name);
    return s?.phase === 'Ended' ? s : undefined;
  });
}

/** A pool with three users and three desks, every desk occupied by one of them. */
async function occupiedPool(ns: string): Promise<void> {
  await apply(namespaceYaml(ns));
  await apply([
    poolYaml(ns, 'office'),
    userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'),
    userYaml(ns, 'bob', 'office', '102', 'bob-Secret-Pw2', '7390'),
    userYaml(ns, 'carol', 'office', '103', 'carol-Secret-Pw3', '5512'),
    deviceYaml(ns, 'desk-1', 'office', '00156500b001', 'HD0001', 'idle-Secret-Pw1'),
    deviceYaml(ns, 'desk-2', 'office', '00156500b002', 'HD0002', 'idle-Secret-Pw2'),
    deviceYaml(ns, 'desk-3', 'office', '00156500b003', 'HD0003', 'idle-Secret-Pw3'),
  ].join('---\n'));
  await apply([
    sessionYaml(ns, 'alice-1', 'desk-1', 'alice'),
    sessionYaml(ns, 'bob-2', 'desk-2', 'bob'),
    sessionYaml(ns, 'carol-3', 'desk-3', 'carol'),
  ].join('---\n'));
  for (const [session, desk] of [['alice-1', 'desk-1'], ['bob-2', 'desk-2'], ['carol-3', 'desk-3']] as const) {
    await eventually(`${session} active and carried by ${desk}`, async () => ready(await sessionStatus(ns, session))?.status === 'True');
  }
}

before(async () => {
  cp = await startControlPlane();
  mgr = createController({ kubeConfig: cp.kubeConfig, leaderElection: false, server: { host: '127.0.0.1', port: 0 }, missingReferenceGraceMs: GRACE_MS });
  await mgr.start();
});

after(async () => {
  await mgr?.stop();
  await cp?.stop();
});

describe('deleting what a session depends on ends it', () => {
  test('deleting a pool ends its sessions as poolGone and puts its devices in Error at once, with a condition and an Event', async () => {
    const ns = 'pool-deleted';
    await occupiedPool(ns);
    const deletedAt = Date.now();
    await deleteObject(ns, 'hotdeskpool', 'office');

    for (const session of ['alice-1', 'bob-2', 'carol-3']) {
      const s = await ended(ns, session);
      assert.equal(s.endReason, 'poolGone');
      assert.match(s.message, /pool office of device desk-\d was deleted/);
      assert.deepEqual([ready(s).status, ready(s).reason], ['False', 'PoolGone']);
      assert.ok((await eventReasons(ns, session)).includes('PoolGone'), `a PoolGone Event on ${session}`);
    }
    for (const desk of ['desk-1', 'desk-2', 'desk-3']) {
      const device = await eventually(`${desk} in Error`, async () => {
        const d = await getJson<any>(ns, 'hotdeskdevice', desk);
        return d?.status?.phase === 'Error' ? d : undefined;
      });
      const provisioned = device.status.conditions.find((c: any) => c.type === 'Provisioned');
      assert.deepEqual([provisioned.status, provisioned.reason], ['False', 'PoolNotFound']);
      assert.match(provisioned.message, /pool office not found/);
      assert.equal(device.status.occupant, undefined, 'nobody is shown at a desk whose pool is gone');
      await eventually(`a PoolNotFound Event on ${desk}`, async () => (await eventReasons(ns, desk)).includes('PoolNotFound'));
    }
    // "At once": on the watch event, not at a resync or a controller restart (10 minutes away).
    const tookMs = Date.now() - deletedAt;
    assert.ok(tookMs < 30_000, `sessions ended and devices failed ${tookMs} ms after the deletion`);
  });

  test('deleting a user ends their session as userGone and the desk goes back to idle; the others stay', async () => {
    const ns = 'user-deleted';
    await occupiedPool(ns);
    await deleteObject(ns, 'hotdeskuser', 'alice');
    const s = await ended(ns, 'alice-1');
    assert.equal(s.endReason, 'userGone');
    assert.ok((await eventReasons(ns, 'alice-1')).includes('UserGone'));
    await eventually('desk-1 idle again', async () => {
      const d = await getJson<any>(ns, 'hotdeskdevice', 'desk-1');
      return d?.status?.phase === 'Idle' && d.status.occupant === undefined;
    });
    const cm = await getJson<any>(ns, 'configmap', 'desk-1-provisioning');
    assert.match(Object.values(cm.data).join('\n'), /user_name = HD0001/);
    assert.equal((await sessionStatus(ns, 'bob-2')).phase, 'Active');
    assert.equal((await sessionStatus(ns, 'carol-3')).phase, 'Active');
  });

  test('deleting a device ends its session as deviceGone; the others stay', async () => {
    const ns = 'device-deleted';
    await occupiedPool(ns);
    await deleteObject(ns, 'hotdeskdevice', 'desk-2');
    const s = await ended(ns, 'bob-2');
    assert.equal(s.endReason, 'deviceGone');
    assert.ok((await eventReasons(ns, 'bob-2')).includes('DeviceGone'));
    assert.equal((await sessionStatus(ns, 'alice-1')).phase, 'Active');
    assert.equal((await sessionStatus(ns, 'carol-3')).phase, 'Active');
  });
});

describe('a login whose device does not exist (yet)', () => {
  test('waits Pending with the reason, is admitted when the device appears within the grace, refused after it', async () => {
    const ns = 'missing';
    await apply(namespaceYaml(ns));
    await apply([poolYaml(ns, 'office'), userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'), userYaml(ns, 'bob', 'office', '102', 'bob-Secret-Pw2', '7390')].join('---\n'));
    await apply([sessionYaml(ns, 'early', 'desk-late', 'alice'), sessionYaml(ns, 'never', 'desk-never', 'bob')].join('---\n'));

    const waiting = await eventually('early waits for its device', async () => {
      const s = await sessionStatus(ns, 'early');
      return s?.phase === 'Pending' ? s : undefined;
    });
    assert.deepEqual([ready(waiting).status, ready(waiting).reason], ['False', 'DeviceNotFound']);
    assert.match(waiting.message, /device desk-late not found in namespace missing; the login waits for it until .*, then is refused/);
    assert.ok((await eventReasons(ns, 'early')).includes('DeviceNotFound'));

    await apply(deviceYaml(ns, 'desk-late', 'office', '00156500c001', 'HD0001', 'idle-Secret-Pw1'));
    const admitted = await eventually('early admitted once its device exists', async () => {
      const s = await sessionStatus(ns, 'early');
      return s?.phase === 'Active' ? s : undefined;
    });
    assert.equal(admitted.endReason, undefined);

    const refused = await eventually('never refused after the grace', async () => {
      const s = await sessionStatus(ns, 'never');
      return s?.phase === 'Refused' ? s : undefined;
    }, GRACE_MS + 20_000);
    assert.deepEqual([ready(refused).reason, refused.endReason], ['DeviceNotFound', 'refused']);
    assert.match(refused.message, /device desk-never not found in namespace missing \(waited 6s for it\)/);
    const waited = new Date(refused.endedAt).getTime() - new Date((await getJson<any>(ns, 'hotdesksession', 'never')).metadata.creationTimestamp).getTime();
    assert.ok(waited >= GRACE_MS - 1_000, `refused ${waited} ms after creation, before the ${GRACE_MS} ms grace`);
  });
});
