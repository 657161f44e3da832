/**
 * SIP over TLS for phones (spec.edge.tls): what the controller makes of it. The pod mounts the
 * pool's TLS Secret only once the Secret has opted in to the pool, the Service and the container
 * expose the TLS port, phones are provisioned to register over TLS, and the API server refuses a
 * TLS port that clashes with another edge port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeObjects, SIP_TLS_MOUNT_PATH } from '../../src/controller/edge-objects.ts';
import { planPool } from '../../src/controller/pool-reconciler.ts';
import type { HotDeskPool } from '../../src/api/index.ts';
import { eventually } from '../support/eventually.ts';
import { kubectlHelpers } from './kubectl-helpers.ts';
import { runningController } from './running-controller.ts';
import { deviceYaml, namespaceYaml } from './manifests.ts';

function poolWith(edge: Record<string, unknown>): HotDeskPool & { metadata: { name: string } } {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskPool',
    metadata: { name: 'office', namespace: 'tls', uid: 'pool-uid-1', generation: 1 },
    spec: {
      pbx: { host: 'pbx.example.com', port: 5060, transport: 'udp' },
      emergency: { numbers: ['911'] },
      featureCodes: { preset: '3cx' },
      edge: { replicas: 1, serviceType: 'NodePort', sipPort: 30060, httpPort: 30080, metricsPort: 9090, provisioningWorkers: 2, rtpPorts: { first: 30100, count: 2 }, ...edge },
    },
  } as unknown as HotDeskPool & { metadata: { name: string } };
}

const TLS = { tls: { secretName: 'office-edge-tls', port: 30061 } };

function podSpec(objects: any): any {
  return objects.deployment.spec.template.spec;
}

test('an opted-in TLS Secret is mounted whole, named to the edge by env, and its port exposed on the pod and the Service', () => {
  const objects = edgeObjects({ pool: poolWith(TLS), defaultImage: 'img', secretNames: [], tlsSecretAllowed: true }) as any;
  const spec = podSpec(objects);
  assert.deepEqual(spec.volumes, [{ name: 'sip-tls', secret: { secretName: 'office-edge-tls', items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } }]);
  const container = spec.containers[0];
  assert.deepEqual(container.volumeMounts, [{ name: 'sip-tls', mountPath: SIP_TLS_MOUNT_PATH, readOnly: true }]);
  assert.equal(container.volumeMounts[0].subPath, undefined, 'a subPath mount would never see a renewed certificate');
  const env = Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
  assert.equal(env.HOTDESK_SIP_TLS_PORT, '30061');
  assert.equal(env.HOTDESK_SIP_TLS_CERT_FILE, `${SIP_TLS_MOUNT_PATH}/tls.crt`);
  assert.equal(env.HOTDESK_SIP_TLS_KEY_FILE, `${SIP_TLS_MOUNT_PATH}/tls.key`);
  assert.deepEqual(container.ports.find((p: any) => p.name === 'sip-tls'), { name: 'sip-tls', containerPort: 30061, protocol: 'TCP' });
  assert.deepEqual(objects.service.spec.ports.find((p: any) => p.name === 'sip-tls'), { name: 'sip-tls', port: 30061, targetPort: 'sip-tls', protocol: 'TCP', nodePort: 30061 });
});

const withoutTls: Array<{ name: string; edge: Record<string, unknown>; allowed: boolean }> = [
  { name: 'a pool without tls', edge: {}, allowed: true },
  { name: 'a TLS Secret that has not opted in', edge: TLS, allowed: false },
];
for (const c of withoutTls) {
  test(`no TLS volume, env or port for ${c.name}`, () => {
    const objects = edgeObjects({ pool: poolWith(c.edge), defaultImage: 'img', secretNames: [], tlsSecretAllowed: c.allowed }) as any;
    const spec = podSpec(objects);
    assert.equal(spec.volumes, undefined);
    assert.equal(spec.containers[0].volumeMounts, undefined);
    assert.ok(!spec.containers[0].env.some((e: any) => e.name.startsWith('HOTDESK_SIP_TLS')));
    assert.ok(!objects.service.spec.ports.some((p: any) => p.name === 'sip-tls'));
  });
}

const planCases: Array<{ name: string; labels: Record<string, string> | null; mounted: boolean; degraded?: RegExp; reason?: string }> = [
  { name: 'labelled for the pool', labels: { 'hotdesk.io/pool': 'office' }, mounted: true },
  { name: 'missing', labels: null, mounted: false, reason: 'EdgeTlsSecretNotFound', degraded: /spec\.edge\.tls\.secretName: Secret office-edge-tls not found/ },
  { name: 'not labelled', labels: {}, mounted: false, reason: 'EdgeTlsSecretNotOptedIn', degraded: /kubectl label secret office-edge-tls hotdesk\.io\/pool=office/ },
  { name: 'labelled for another pool', labels: { 'hotdesk.io/pool': 'lobby' }, mounted: false, reason: 'EdgeTlsSecretForOtherPool', degraded: /labelled for pool lobby/ },
];
for (const c of planCases) {
  test(`the pool plan with its TLS Secret ${c.name}`, () => {
    const plan = planPool({ pool: poolWith(TLS) as any, users: [], devices: [], deployment: undefined, defaultImage: 'img', secretLabels: (s) => (s === 'office-edge-tls' ? c.labels : null) });
    const deployment = plan.objects.find((o) => o.kind.kind === 'Deployment')!.object as any;
    assert.equal((deployment.spec.template.spec.volumes ?? []).length, c.mounted ? 1 : 0);
    assert.equal(plan.tlsSecretAllowed, c.mounted);
    const degraded = plan.conditions.find((d) => d.type === 'Degraded');
    if (!c.degraded) {
      assert.equal(degraded, undefined);
      return;
    }
    assert.equal(degraded?.reason, c.reason);
    assert.match(degraded!.message, c.degraded);
    assert.match(degraded!.message, /phones provisioned for TLS cannot register/);
    assert.ok(plan.events.some((e) => e.type === 'Warning' && e.reason === c.reason), 'a Warning Event with the same reason');
  });
}

const controller = runningController();
const { apply, getJson } = kubectlHelpers(controller.plane);


function poolYaml(ns: string, edge: string): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: office, namespace: ${ns}}
spec:
  pbx: {host: pbx.${ns}.example}
  featureCodes: {preset: 3cx}
  emergency: {numbers: ["911"]}
  edge: ${edge}
`;
}

const validation: Array<{ name: string; edge: string; error: RegExp }> = [
  { name: 'the SIP port', edge: '{tls: {secretName: t, port: 5060}}', error: /edge\.tls\.port must differ from sipPort, httpPort and metricsPort/ },
  { name: 'the HTTP port', edge: '{httpPort: 8443, tls: {secretName: t, port: 8443}}', error: /spec\.edge\.tls\.port: Invalid value/ },
  { name: 'no Secret', edge: '{tls: {port: 5061}}', error: /spec\.edge\.tls\.secretName: Required value/ },
];
for (const [i, c] of validation.entries()) {
  test(`the API server refuses edge.tls clashing with ${c.name}`, async () => {
    const ns = `tls-bad-${i}`;
    await apply(namespaceYaml(ns));
    const res = await controller.plane().kubectl(['apply', '-f', '-'], { input: poolYaml(ns, c.edge) });
    assert.notEqual(res.code, 0, `expected a refusal, got ${res.stdout}`);
    assert.match(res.stderr, c.error);
  });
}

test('a pool with TLS: Degraded until its Secret opts in, then the edge mounts it and phones are provisioned for TLS on 5061', async () => {
  const ns = 'tls-flow';
  await apply(namespaceYaml(ns));
  await apply([poolYaml(ns, '{advertisedHost: sip.tls-flow.example, tls: {secretName: office-edge-tls}}'), deviceYaml(ns, 'desk-1', 'office', '00156500a001', 'HD0001', 'idle-Secret-Pw1')].join('---\n'));
  const degraded = await eventually('Degraded: TLS Secret not found', async () => {
    const pool = await getJson<any>(ns, 'hotdeskpool', 'office');
    return pool?.status?.conditions?.find((c: any) => c.type === 'Degraded' && c.reason === 'EdgeTlsSecretNotFound');
  });
  assert.equal(degraded.status, 'True');
  const events = await controller.plane().kubectl(['get', 'events', '--field-selector', 'involvedObject.name=office', '-o', 'jsonpath={.items[*].reason}'], { namespace: ns });
  assert.match(events.stdout, /EdgeTlsSecretNotFound/);
  const before = await getJson<any>(ns, 'deployment', 'office-edge');
  assert.equal(before.spec.template.spec.volumes, undefined, 'nothing mounted while the Secret has not opted in');

  // The file is the phone's, whatever the Secret's state: the pool asks for TLS.
  const file = await eventually('the phone\'s file', async () => {
    const cm = await getJson<{ data: Record<string, string> }>(ns, 'configmap', 'desk-1-provisioning');
    return cm ? Object.values(cm.data).join('\n') : undefined;
  });
  assert.match(file, /account\.1\.sip_server\.1\.port = 5061/);
  assert.match(file, /account\.1\.sip_server\.1\.transport_type = 2/, 'Yealink: 2 is TLS');

  // A certificate as cert-manager would write it, labelled for the pool only afterwards.
  await apply(`apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: office-edge-tls, namespace: ${ns}}
data: {tls.crt: ${Buffer.from('not a real certificate').toString('base64')}, tls.key: ${Buffer.from('not a real key').toString('base64')}}
`);
  await eventually('Degraded: not opted in', async () => (await getJson<any>(ns, 'hotdeskpool', 'office'))?.status?.conditions?.find((c: any) => c.reason === 'EdgeTlsSecretNotOptedIn'), 60_000);
  const label = await controller.plane().kubectl(['label', 'secret', 'office-edge-tls', 'hotdesk.io/pool=office'], { namespace: ns });
  assert.equal(label.code, 0, label.stderr);
  const deployment = await eventually('the edge mounts the Secret', async () => {
    const d = await getJson<any>(ns, 'deployment', 'office-edge');
    return d?.spec?.template?.spec?.volumes?.length === 1 ? d : undefined;
  }, 60_000);
  assert.equal(deployment.spec.template.spec.volumes[0].secret.secretName, 'office-edge-tls');
  const service = await getJson<any>(ns, 'service', 'office-edge');
  assert.ok(service.spec.ports.some((p: any) => p.name === 'sip-tls' && p.port === 5061 && p.protocol === 'TCP'));
  await eventually('Degraded gone', async () => {
    const pool = await getJson<any>(ns, 'hotdeskpool', 'office');
    return pool?.status?.conditions && !pool.status.conditions.some((c: any) => c.type === 'Degraded') ? pool : undefined;
  }, 30_000);
  const secretText = JSON.stringify(await getJson<any>(ns, 'configmap', 'desk-1-provisioning'));
  assert.doesNotMatch(secretText, /not a real key/, 'the key never reaches a ConfigMap');
});
