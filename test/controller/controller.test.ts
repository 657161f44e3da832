import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectlHelpers } from './kubectl-helpers.ts';
import { runningController } from './running-controller.ts';
import { eventually } from '../support/eventually.ts';
import { deviceYaml, namespaceYaml, poolYaml, sessionYaml, userYaml } from './manifests.ts';

const controller = runningController();

const { apply, getJson } = kubectlHelpers(controller.plane);


async function configOf(ns: string, device: string): Promise<string> {
  const cm = await getJson<{ data: Record<string, string> }>(ns, 'configmap', `${device}-provisioning`);
  return cm ? Object.values(cm.data).join('\n') : '';
}

async function sessionStatus(ns: string, name: string): Promise<any> {
  return (await getJson<any>(ns, 'hotdesksession', name))?.status;
}

async function setupPool(ns: string, opts: Parameters<typeof poolYaml>[2] = {}): Promise<void> {
  await apply(namespaceYaml(ns));
  await apply([
    poolYaml(ns, 'office', opts),
    userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'),
    userYaml(ns, 'bob', 'office', '102', 'bob-Secret-Pw2', '7390'),
    deviceYaml(ns, 'desk-1', 'office', '00156500a001', 'HD0001', 'idle-Secret-Pw1'),
    deviceYaml(ns, 'desk-2', 'office', '00156500a002', 'HD0002', 'idle-Secret-Pw2', 'grandstream', 'GRP2614'),
  ].join('---\n'));
}


describe('hot-desk control loop', () => {
  test('devices get their idle configuration; a session makes it the occupant\'s; deleting it goes back to idle', async () => {
    const ns = 'flow';
    await setupPool(ns);
    const idle = await eventually('idle config of desk-1', async () => {
      const c = await configOf(ns, 'desk-1');
      return c.includes('HD0001') ? c : undefined;
    });
    assert.match(idle, /account\.1\.user_name = HD0001/);
    assert.doesNotMatch(idle, /101/);
    const dev = await getJson<any>(ns, 'hotdeskdevice', 'desk-1');
    assert.equal(dev.status.phase, 'Idle');
    assert.equal(dev.status.conditions.find((c: any) => c.type === 'Provisioned').status, 'True');
    await eventually('grandstream idle config', async () => (await getJson<any>(ns, 'configmap', 'desk-2-provisioning'))?.data?.['cfg00156500a002.xml']);

    await apply(sessionYaml(ns, 'alice-desk-1', 'desk-1', 'alice'));
    const occupied = await eventually('occupied config', async () => {
      const c = await configOf(ns, 'desk-1');
      return c.includes('user_name = 101') ? c : undefined;
    });
    assert.match(occupied, /linekey\.1\.value = \*77\*5\*/, 'the logout key comes first');
    assert.match(occupied, /linekey\.2\.value = 2101/, 'the user\'s first key moves down by one');
    const status = await eventually('session Ready', async () => {
      const s = await sessionStatus(ns, 'alice-desk-1');
      return s?.conditions?.find((c: any) => c.type === 'Ready' && c.status === 'True') ? s : undefined;
    });
    assert.equal(status.phase, 'Active');
    const occupiedDevice = await getJson<any>(ns, 'hotdeskdevice', 'desk-1');
    assert.deepEqual(occupiedDevice.status.occupant, { user: 'alice', extension: '101', session: 'alice-desk-1' });
    const user = await eventually('user status lists the session', async () => {
      const u = await getJson<any>(ns, 'hotdeskuser', 'alice');
      return u?.status?.activeSessions?.length === 1 ? u : undefined;
    });
    assert.equal(user.status.activeSessions[0].device, 'desk-1');

    const events = await controller.plane().kubectl(['get', 'events', '--field-selector', 'involvedObject.name=desk-1', '-o', 'jsonpath={.items[*].reason}'], { namespace: ns });
    assert.match(events.stdout, /Provisioned/);

    const del = await controller.plane().kubectl(['delete', 'hotdesksession', 'alice-desk-1', '--wait=true', '--timeout=30s'], { namespace: ns });
    assert.equal(del.code, 0, del.stderr);
    // The finalizer returns the desk to idle before the session object goes away.
    const afterDelete = await configOf(ns, 'desk-1');
    assert.match(afterDelete, /user_name = HD0001/);
    assert.equal((await getJson<any>(ns, 'hotdeskdevice', 'desk-1')).status.phase, 'Idle');
  });

  test('logging in elsewhere kicks the first desk under kick, and is refused under refuse', async () => {
    const kick = 'kick';
    await setupPool(kick, { policy: 'kick' });
    await apply(sessionYaml(kick, 's1', 'desk-1', 'alice'));
    await eventually('s1 active', async () => (await sessionStatus(kick, 's1'))?.phase === 'Active');
    await apply(sessionYaml(kick, 's2', 'desk-2', 'alice'));
    const s1 = await eventually('s1 ended', async () => {
      const s = await sessionStatus(kick, 's1');
      return s?.phase === 'Ended' ? s : undefined;
    });
    assert.equal(s1.endReason, 'roamed');
    assert.equal((await sessionStatus(kick, 's2')).phase, 'Active');
    await eventually('desk-1 idle again', async () => (await configOf(kick, 'desk-1')).includes('HD0001'));

    // Another user taking an occupied desk supersedes its session (3CX roaming).
    await apply(sessionYaml(kick, 's3', 'desk-2', 'bob'));
    const s2 = await eventually('s2 superseded', async () => {
      const s = await sessionStatus(kick, 's2');
      return s?.phase === 'Ended' ? s : undefined;
    });
    assert.equal(s2.endReason, 'superseded');

    const refuse = 'refuse';
    await setupPool(refuse, { policy: 'refuse' });
    await apply(sessionYaml(refuse, 's1', 'desk-1', 'alice'));
    await eventually('s1 active', async () => (await sessionStatus(refuse, 's1'))?.phase === 'Active');
    await apply(sessionYaml(refuse, 's2', 'desk-2', 'alice'));
    const refused = await eventually('s2 refused', async () => {
      const s = await sessionStatus(refuse, 's2');
      return s?.phase === 'Refused' ? s : undefined;
    });
    assert.match(refused.message, /already logged in on device desk-1.*refuse/);
    assert.equal((await sessionStatus(refuse, 's1')).phase, 'Active', 'the first desk keeps its user');
  });

  test('a session expires within 2 s of its scheduled time and is kept for the retention', async () => {
    const ns = 'expiry';
    await setupPool(ns, { maxDuration: '3s', retention: '4s' });
    await eventually('desk-1 rendered', async () => (await configOf(ns, 'desk-1')).includes('HD0001'));
    await apply(sessionYaml(ns, 'short', 'desk-1', 'bob'));
    const ended = await eventually('session expired', async () => {
      const s = await sessionStatus(ns, 'short');
      return s?.phase === 'Ended' ? s : undefined;
    }, 15_000);
    assert.equal(ended.endReason, 'expired');
    const scheduled = new Date(ended.startedAt).getTime() + 3_000;
    const lateBy = new Date(ended.endedAt).getTime() - scheduled;
    assert.ok(lateBy >= -1000 && lateBy <= 2000, `ended ${lateBy} ms after its scheduled time`);
    await eventually('desk back to idle', async () => (await configOf(ns, 'desk-1')).includes('HD0001'));
    // Then the audit record goes after the pool's retention.
    await eventually('ended session removed after retention', async () => (await controller.plane().kubectl(['get', 'hotdesksession', 'short'], { namespace: ns })).code !== 0, 15_000);
  });

  test('deleting a device ends its session; its ConfigMap is owned by it for garbage collection', async () => {
    const ns = 'gone';
    await setupPool(ns);
    await apply(sessionYaml(ns, 'gone-s', 'desk-2', 'bob'));
    await eventually('session active', async () => (await sessionStatus(ns, 'gone-s'))?.phase === 'Active');
    const cm = await getJson<any>(ns, 'configmap', 'desk-2-provisioning');
    const dev = await getJson<any>(ns, 'hotdeskdevice', 'desk-2');
    assert.deepEqual(cm.metadata.ownerReferences.map((r: any) => [r.kind, r.name, r.uid, r.controller]), [['HotDeskDevice', 'desk-2', dev.metadata.uid, true]]);
    assert.equal((await controller.plane().kubectl(['delete', 'hotdeskdevice', 'desk-2'], { namespace: ns })).code, 0);
    const s = await eventually('session ended', async () => {
      const st = await sessionStatus(ns, 'gone-s');
      return st?.phase === 'Ended' ? st : undefined;
    });
    assert.equal(s.endReason, 'deviceGone');
  });

  test('the pool runs its edge: Deployment, Service and a least-privilege Role, rolled on change', async () => {
    const ns = 'edge';
    await setupPool(ns);
    const dep = await eventually('edge deployment', async () => getJson<any>(ns, 'deployment', 'office-edge'));
    assert.equal(dep.metadata.ownerReferences[0].kind, 'HotDeskPool');
    const checksum = dep.spec.template.metadata.annotations['hotdesk.io/config-checksum'];
    assert.ok(checksum);
    const svc = await getJson<any>(ns, 'service', 'office-edge');
    const rtp = Array.from({ length: 32 }, (_, i) => `rtp-${20000 + 2 * i}/UDP/${20000 + 2 * i}`);
    assert.deepEqual(svc.spec.ports.map((p: any) => `${p.name}/${p.protocol}/${p.port}`).sort(), ['http/TCP/8080', 'metrics/TCP/9090', ...rtp, 'sip-tcp/TCP/5060', 'sip-udp/UDP/5060'].sort());
    assert.ok(dep.spec.template.spec.containers[0].env.some((e: any) => e.name === 'HOTDESK_RTP_PORTS' && e.value === '20000-20062'), 'the edge binds the RTP ports the Service exposes');
    const role = await getJson<any>(ns, 'role', 'office-edge');
    const secretRule = role.rules.find((r: any) => r.resources.includes('secrets'));
    assert.deepEqual(secretRule.verbs, ['get']);
    assert.deepEqual(secretRule.resourceNames, ['alice-sip', 'bob-sip', 'desk-1-idle', 'desk-2-idle']);

    await controller.plane().kubectl(['patch', 'hotdeskpool', 'office', '--type=merge', '-p', '{"spec":{"edge":{"replicas":3}}}'], { namespace: ns });
    const rolled = await eventually('rolled deployment', async () => {
      const d = await getJson<any>(ns, 'deployment', 'office-edge');
      return d?.spec.replicas === 3 ? d : undefined;
    });
    assert.notEqual(rolled.spec.template.metadata.annotations['hotdesk.io/config-checksum'], checksum, 'a spec change rolls the pods');
    const pool = await eventually('pool status', async () => {
      const p = await getJson<any>(ns, 'hotdeskpool', 'office');
      return p?.status?.devices === 2 ? p : undefined;
    });
    assert.equal(pool.status.conditions.find((c: any) => c.type === 'Ready').reason, 'EdgeNotReady');
  });

  test('a user whose Secret is missing is not Ready, with the reason in status and an Event', async () => {
    const ns = 'badsecret';
    await apply(namespaceYaml(ns));
    await apply(poolYaml(ns, 'office'));
    await apply(`apiVersion: hotdesk.io/v1alpha1
kind: HotDeskUser
metadata: {name: carol, namespace: ${ns}}
spec: {pool: office, extension: "103", secretRef: {name: carol-sip}}
`);
    const user = await eventually('carol not ready', async () => {
      const u = await getJson<any>(ns, 'hotdeskuser', 'carol');
      return u?.status?.conditions?.[0]?.reason === 'SecretNotFound' ? u : undefined;
    });
    assert.match(user.status.conditions[0].message, /Secret carol-sip not found/);
    const ev = await controller.plane().kubectl(['get', 'events', '--field-selector', 'involvedObject.name=carol', '-o', 'jsonpath={.items[*].reason}'], { namespace: ns });
    assert.match(ev.stdout, /SecretNotFound/);
  });

  test('no ConfigMap anywhere contains a password or PIN', async () => {
    const all = await controller.plane().kubectl(['get', 'configmaps', '-A', '-o', 'json']);
    assert.equal(all.code, 0);
    for (const secret of ['alice-Secret-Pw1', 'bob-Secret-Pw2', 'idle-Secret-Pw1', 'idle-Secret-Pw2', '4821', '7390', 'prov-idle']) {
      assert.ok(!all.stdout.includes(secret), `a ConfigMap contains ${secret}`);
    }
    assert.match(all.stdout, /hotdesk:secret:password/, 'the rendered files carry placeholders instead');
  });

  test('domain metrics are exported without names or extensions as labels', async () => {
    const res = await fetch(`http://127.0.0.1:${controller.manager().port}/metrics`);
    const text = await res.text();
    assert.match(text, /hotdesk_devices\{namespace="flow",pool="office",phase="Idle"\} 2/);
    assert.match(text, /hotdesk_logins_total\{namespace="kick",pool="office",result="success"\} \d/);
    assert.match(text, /hotdesk_logouts_total\{namespace="kick",pool="office",reason="roamed"\} 1/);
    assert.match(text, /hotdesk_provisioning_renders_total\{vendor="yealink",result="success"\}/);
    assert.match(text, /hotdesk_session_duration_seconds_count/);
    assert.match(text, /controller_runtime_reconcile_total\{controller="hotdeskdevice",result="success"\}/);
    assert.doesNotMatch(text, /alice|bob|"101"|"102"/);
  });
});
