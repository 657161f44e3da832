/**
 * What the API server accepts but only the controller can check, against the real API server:
 * names that need a derived edge name, conflicts across objects, and a write the server refuses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectlHelpers } from './kubectl-helpers.ts';
import { runningController } from './running-controller.ts';
import { edgeName } from '../../src/api/labels.ts';
import { eventually } from '../support/eventually.ts';
import { deviceYaml, namespaceYaml, poolYaml, userYaml } from './manifests.ts';

const controller = runningController();

const { apply, getJson } = kubectlHelpers(controller.plane);

async function condition(ns: string, kind: string, name: string, type: string): Promise<any> {
  return (await getJson<any>(ns, kind, name))?.status?.conditions?.find((c: any) => c.type === type);
}

async function warnings(ns: string, name: string): Promise<{ reason: string; message: string }[]> {
  const list = await getJson<any>(ns, 'events', '--field-selector', `involvedObject.name=${name},type=Warning`);
  return (list?.items ?? []).map((e: any) => ({ reason: e.reason, message: e.message }));
}


describe('input the API server accepts and the controller must carry out or flag', () => {
  test('a pool named london.office, and one of 63 characters, get their edge under a derived name and a status', async () => {
    const ns = 'names';
    await apply(namespaceYaml(ns));
    const long = `p${'o'.repeat(62)}`;
    for (const pool of ['london.office', long]) {
      await apply(poolYaml(ns, pool));
      const name = edgeName(pool);
      assert.notEqual(name, `${pool}-edge`);
      await eventually(`edge Service of ${pool}`, async () => getJson(ns, 'service', name));
      const deployment = await eventually(`edge Deployment of ${pool}`, async () => getJson<any>(ns, 'deployment', name));
      assert.equal(deployment.spec.template.spec.serviceAccountName, name);
      assert.ok(await getJson(ns, 'serviceaccount', name), 'the ServiceAccount exists');
      assert.ok(await getJson(ns, 'rolebinding', name), 'the RoleBinding exists');
      const ready = await eventually(`Ready condition of ${pool}`, async () => condition(ns, 'hotdeskpool', pool, 'Ready'));
      assert.equal(ready.reason, 'EdgeNotReady'); // no kubelet here: the Deployment exists, no pod becomes ready
    }
  });

  test('a device with a 63-character name gets its file, and status says so only after it is written', async () => {
    const ns = 'long-device';
    await apply(namespaceYaml(ns));
    const desk = `d${'e'.repeat(62)}`;
    // The display name would otherwise repeat the long name past its own 64-character limit.
    const manifest = deviceYaml(ns, desk, 'office', '00156500b001', 'HD0001', 'idle-Secret-Pw1').replace(`displayName: Hot desk ${desk}`, 'displayName: Long desk');
    await apply([poolYaml(ns, 'office'), manifest].join('---\n'));
    const provisioned = await eventually('Provisioned', async () => {
      const c = await condition(ns, 'hotdeskdevice', desk, 'Provisioned');
      return c?.status === 'True' ? c : undefined;
    });
    assert.match(provisioned.message, /idle configuration rendered/);
    const cm = await getJson<any>(ns, 'configmap', `${desk}-provisioning`);
    assert.ok(cm?.data?.['00156500b001.cfg'], 'the ConfigMap holds the file');
    const device = await getJson<any>(ns, 'hotdeskdevice', desk);
    assert.equal(device.status.configRevision, cm.metadata.annotations['hotdesk.io/config-revision']);
  });

  test('two devices with one MAC: the older keeps it, the newer gets Conflict, an Event and no file, until resolved', async () => {
    const ns = 'same-mac';
    await apply(namespaceYaml(ns));
    await apply([poolYaml(ns, 'office'), deviceYaml(ns, 'desk-a', 'office', '00156500c001', 'HD0001', 'idle-Secret-Pw1')].join('---\n'));
    await eventually('desk-a rendered', async () => (await getJson<any>(ns, 'hotdeskdevice', 'desk-a'))?.status?.phase === 'Idle' || undefined);
    await apply(deviceYaml(ns, 'desk-b', 'office', '00156500c001', 'HD0002', 'idle-Secret-Pw2'));

    const conflict = await eventually('Conflict on desk-b', async () => condition(ns, 'hotdeskdevice', 'desk-b', 'Conflict'));
    assert.equal(conflict.status, 'True');
    assert.equal(conflict.reason, 'DuplicateMAC');
    assert.match(conflict.message, /MAC 00156500c001 belongs to HotDeskDevice desk-a, which is older and keeps it/);
    const b = await getJson<any>(ns, 'hotdeskdevice', 'desk-b');
    assert.equal(b.status.phase, 'Error');
    assert.equal(b.status.conditions.find((c: any) => c.type === 'Provisioned').status, 'False');
    const events = await eventually('Warning Event on desk-b', async () => {
      const w = await warnings(ns, 'desk-b');
      return w.some((e) => e.reason === 'DuplicateMAC') ? w : undefined;
    });
    assert.match(events.find((e) => e.reason === 'DuplicateMAC')!.message, /change spec\.mac or delete HotDeskDevice desk-a/);
    assert.equal(await getJson(ns, 'configmap', 'desk-b-provisioning'), undefined, 'the newer device has no file that could shadow the older one\'s');
    const a = await getJson<any>(ns, 'hotdeskdevice', 'desk-a');
    assert.equal(a.status.phase, 'Idle');
    assert.equal(a.status.conditions.find((c: any) => c.type === 'Conflict'), undefined);
    assert.ok(await getJson(ns, 'configmap', 'desk-a-provisioning'));

    const deleted = await controller.plane().kubectl(['delete', 'hotdeskdevice', 'desk-a', '-n', ns]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually('desk-b takes the MAC over', async () => {
      const d = await getJson<any>(ns, 'hotdeskdevice', 'desk-b');
      return d?.status?.phase === 'Idle' && !d.status.conditions.some((c: any) => c.type === 'Conflict') || undefined;
    });
    assert.ok(await eventually('desk-b file', async () => getJson(ns, 'configmap', 'desk-b-provisioning')));
  });

  test('two devices with one idle account in a pool: the newer gets Conflict', async () => {
    const ns = 'same-account';
    await apply(namespaceYaml(ns));
    await apply([poolYaml(ns, 'office'), deviceYaml(ns, 'desk-a', 'office', '00156500d001', 'HD0001', 'idle-Secret-Pw1')].join('---\n'));
    await apply(deviceYaml(ns, 'desk-b', 'office', '00156500d002', 'HD0001', 'idle-Secret-Pw2'));
    const conflict = await eventually('Conflict on desk-b', async () => condition(ns, 'hotdeskdevice', 'desk-b', 'Conflict'));
    assert.equal(conflict.reason, 'DuplicateIdleAccount');
    assert.equal(await condition(ns, 'hotdeskdevice', 'desk-a', 'Conflict'), undefined);
  });

  test('two users with one extension in a pool: the newer is not Ready and gets Conflict and an Event, until it changes', async () => {
    const ns = 'same-extension';
    await apply(namespaceYaml(ns));
    await apply([poolYaml(ns, 'office'), userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821')].join('---\n'));
    await eventually('alice Ready', async () => (await condition(ns, 'hotdeskuser', 'alice', 'Ready'))?.status === 'True' || undefined);
    await apply(userYaml(ns, 'mallory', 'office', '101', 'mallory-Secret-Pw1', '1357'));

    const conflict = await eventually('Conflict on mallory', async () => condition(ns, 'hotdeskuser', 'mallory', 'Conflict'));
    assert.equal(conflict.reason, 'DuplicateExtension');
    const ready = await condition(ns, 'hotdeskuser', 'mallory', 'Ready');
    assert.deepEqual([ready.status, ready.reason], ['False', 'DuplicateExtension']);
    await eventually('Warning Event on mallory', async () => (await warnings(ns, 'mallory')).some((e) => e.reason === 'DuplicateExtension') || undefined);
    assert.equal((await condition(ns, 'hotdeskuser', 'alice', 'Ready')).status, 'True');
    assert.equal(await condition(ns, 'hotdeskuser', 'alice', 'Conflict'), undefined);

    await apply(userYaml(ns, 'mallory', 'office', '109', 'mallory-Secret-Pw1', '1357'));
    await eventually('mallory Ready, Conflict gone', async () => {
      const u = await getJson<any>(ns, 'hotdeskuser', 'mallory');
      const c = u?.status?.conditions ?? [];
      return c.find((x: any) => x.type === 'Ready')?.status === 'True' && !c.some((x: any) => x.type === 'Conflict') || undefined;
    });
  });

  test('a NodePort pool whose ports lie outside the node-port range: Ready says why, until its ports move into it', async () => {
    const ns = 'node-ports';
    await apply(namespaceYaml(ns));
    await apply(poolYaml(ns, 'office'));
    await controller.plane().kubectl(['patch', 'hotdeskpool', 'office', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { edge: { serviceType: 'NodePort' } } })]);
    const refused = await eventually('Ready False for the refused Service', async () => {
      const c = await condition(ns, 'hotdeskpool', 'office', 'Ready');
      return c?.reason === 'EdgeServiceInvalid' ? c : undefined;
    });
    assert.equal(refused.status, 'False');
    // The API server's own words name the port and the range, so the operator knows what to change.
    assert.match(refused.message, /edge Service office-edge was not written: .*nodePort.*5060.*range of valid ports is 30000-32767/);
    await eventually('Warning Event', async () => (await warnings(ns, 'office')).some((e) => e.reason === 'EdgeServiceInvalid' && /30000-32767/.test(e.message)) || undefined);

    await controller.plane().kubectl(['patch', 'hotdeskpool', 'office', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { edge: { sipPort: 30060, httpPort: 30080, rtpPorts: { first: 30100, count: 2 } } } })]);
    const service = await eventually('the NodePort Service', async () => {
      const s = await getJson<any>(ns, 'service', 'office-edge');
      return s?.spec.type === 'NodePort' ? s : undefined;
    });
    const nodePorts = Object.fromEntries(service.spec.ports.map((p: any) => [p.name, [p.port, p.nodePort]]));
    assert.deepEqual(nodePorts['sip-udp'], [30060, 30060]);
    assert.deepEqual(nodePorts.http, [30080, 30080]);
    assert.deepEqual(nodePorts['rtp-30102'], [30102, 30102]);
    await eventually('Ready no longer blames the Service', async () => (await condition(ns, 'hotdeskpool', 'office', 'Ready'))?.reason === 'EdgeNotReady' || undefined);
  });

  test('a ConfigMap write the API server refuses leaves Error, the reason and an Event; status never says rendered', async () => {
    const ns = 'refused-write';
    await apply(namespaceYaml(ns));
    // A quota of no ConfigMaps, its usage filled in by hand (there is no quota controller here):
    // its admission then refuses every new ConfigMap with 403, as a real cluster's quota would.
    await apply(`apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: no-configmaps, namespace: ${ns}}\nspec: {hard: {count/configmaps: "0"}}\n`);
    const used = await controller.plane().kubectl(['patch', 'resourcequota', 'no-configmaps', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"hard":{"count/configmaps":"0"},"used":{"count/configmaps":"0"}}}']);
    assert.equal(used.code, 0, used.stderr);
    await apply([poolYaml(ns, 'office'), deviceYaml(ns, 'desk-1', 'office', '00156500f0a1', 'HD0001', 'idle-Secret-Pw1')].join('---\n'));

    const provisioned = await eventually('Provisioned False', async () => {
      const c = await condition(ns, 'hotdeskdevice', 'desk-1', 'Provisioned');
      return c?.status === 'False' ? c : undefined;
    });
    assert.equal(provisioned.reason, 'ConfigMapForbidden');
    assert.match(provisioned.message, /provisioning ConfigMap desk-1-provisioning was not written: .*403/);
    const device = await getJson<any>(ns, 'hotdeskdevice', 'desk-1');
    assert.equal(device.status.phase, 'Error');
    assert.equal(device.status.configRevision, undefined, 'no revision was written, so none is reported');
    await eventually('Warning Event', async () => (await warnings(ns, 'desk-1')).some((e) => e.reason === 'ConfigMapForbidden') || undefined);

    const removed = await controller.plane().kubectl(['delete', 'resourcequota', 'no-configmaps', '-n', ns]);
    assert.equal(removed.code, 0, removed.stderr);
    // The failed key is retried with backoff; a touch brings the retry forward.
    await controller.plane().kubectl(['annotate', 'hotdeskdevice', 'desk-1', '-n', ns, 'touched=1']);
    await eventually('rendered once the write goes through', async () => (await condition(ns, 'hotdeskdevice', 'desk-1', 'Provisioned'))?.status === 'True' || undefined);
    assert.ok(await getJson(ns, 'configmap', 'desk-1-provisioning'));
  });
});
