import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { resolveAssets } from '../../src/envtest/assets.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { API_GROUP, KINDS } from '../../src/api/group.ts';
import { edgeRoleManifest } from './edge-permissions.ts';
import { REPO_ROOT, at, findOne, mustSucceed, parseManifests, renderChart } from './tools.ts';

const NS = 'hotdesk-system';
const CRD_NAMES = Object.values(KINDS).map((k) => `${k.plural}.${API_GROUP}`).sort();
const SA = `system:serviceaccount:${NS}:hotdesk-operator`;

describe('kubectl apply -k config/default', () => {
  let cp: ControlPlane;
  const kube = (args: string[], input?: string) => cp.kubectl(args, input === undefined ? {} : { input }).then((r) => mustSucceed(`kubectl ${args.join(' ')}`, r));

  before(async () => {
    // config/default brings its own CRDs through ../crd.
    cp = await startControlPlane({ installCrds: false });
  });
  after(async () => {
    await cp?.stop();
  });

  test('creates the namespace, CRDs, RBAC, controller Deployment and metrics Service', async () => {
    const out = await kube(['apply', '-k', join(REPO_ROOT, 'config/default')]);
    assert.match(out, /namespace\/hotdesk-system created/);
    await kube(['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`)]);

    const deployment = JSON.parse(await kube(['get', 'deployment', 'hotdesk-operator', '-n', NS, '-o', 'json']));
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.metadata.labels['app.kubernetes.io/part-of'], 'hotdesk-operator');
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'hotdesk-operator');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const c = pod.containers[0];
    assert.deepEqual(c.args, ['src/cmd/controller.ts']);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    const env = Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.equal(env.HOTDESK_LEADER_ELECT, 'true');
    assert.equal(env.HOTDESK_EDGE_IMAGE, c.image, 'edges run the same image as the controller');

    const service = JSON.parse(await kube(['get', 'service', 'hotdesk-operator-metrics', '-n', NS, '-o', 'json']));
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>)) assert.equal(podLabels[k], v, `Service selector ${k}`);
    assert.equal(service.spec.ports[0].name, 'metrics');
    await kube(['get', 'poddisruptionbudget', 'hotdesk-operator', '-n', NS]);
    await kube(['get', 'serviceaccount', 'hotdesk-operator', '-n', NS]);
    await kube(['get', 'role,rolebinding', 'hotdesk-operator-leader-election', '-n', NS]);
    const binding = JSON.parse(await kube(['get', 'clusterrolebinding', 'hotdesk-operator', '-o', 'json']));
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'hotdesk-operator', namespace: NS }]);
  });

  test('the installed ClusterRole is the one the Helm chart ships', async () => {
    const installed = JSON.parse(await kube(['get', 'clusterrole', 'hotdesk-operator', '-o', 'json']));
    const fromChart = at(findOne(await renderChart(), 'ClusterRole'), 'rules');
    assert.deepEqual(installed.rules, fromChart);
  });

  test('the edge admission policies are installed, bound, and are the ones the Helm chart ships', async () => {
    const chart = await renderChart();
    for (const what of ['edge-own-sessions', 'edge-own-status']) {
      const binding = JSON.parse(await kube(['get', 'validatingadmissionpolicybinding', `hotdesk-${what}`, '-o', 'json']));
      assert.equal(binding.spec.policyName, `hotdesk-${what}`);
      assert.deepEqual(binding.spec.paramRef, at(findOne(chart, 'ValidatingAdmissionPolicyBinding', `hotdesk-operator-${what}`), 'spec', 'paramRef'));
      // Type-checking status is written by kube-controller-manager, which envtest does not run.
      const policy = JSON.parse(await kube(['get', 'validatingadmissionpolicy', `hotdesk-${what}`, '-o', 'json']));
      const fromChart = findOne(chart, 'ValidatingAdmissionPolicy', `hotdesk-operator-${what}`);
      for (const field of ['paramKind', 'matchConditions', 'variables', 'validations', 'failurePolicy'] as const) {
        assert.deepEqual(policy.spec[field], at(fromChart, 'spec', field), `${what} ${field}`);
      }
      // The API server fills in defaults around the rules (scope, selectors): compare what they match.
      const rules = (spec: { matchConstraints: { resourceRules: { resources: string[]; operations: string[] }[] } }) => spec.matchConstraints.resourceRules.map((r) => [r.resources, r.operations]);
      assert.deepEqual(rules(policy.spec), rules(at(fromChart, 'spec')), `${what} rules`);
    }
  });

  test('the controller holds what a pool edge needs, so it can create the edge Role', async () => {
    await kube(['create', 'namespace', 'tenant-b']);
    const created = await cp.kubectl(['create', '--as', SA, '-f', '-'], { input: JSON.stringify(edgeRoleManifest('tenant-b')) });
    assert.equal(created.code, 0, created.stderr);
    const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', '--as', SA, ...args])).stdout.trim();
    assert.equal(await can('create', 'leases.coordination.k8s.io', '-n', NS), 'yes');
    assert.equal(await can('create', 'leases.coordination.k8s.io', '-n', 'tenant-b'), 'no', 'leader election only in its own namespace');
    assert.equal(await can('delete', 'secrets', '-n', 'tenant-b'), 'no');
  });

  test('applying again changes nothing', async () => {
    // kubectl reports some no-op patches as "configured" (a PDB's selector is always resent), so
    // what counts is that no stored object changed.
    const versions = async () => {
      const list = JSON.parse(await kube(['get', '-k', join(REPO_ROOT, 'config/default'), '-o', 'json'])) as { items: { kind: string; metadata: { name: string; resourceVersion: string } }[] };
      return Object.fromEntries(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
    };
    const before = await versions();
    assert.ok(Object.keys(before).length >= 13, JSON.stringify(before));
    await kube(['apply', '-k', join(REPO_ROOT, 'config/default')]);
    assert.deepEqual(await versions(), before);
  });
});

describe('kustomize bases', () => {
  test('config/prometheus scrapes the controller Service and the edge pods, and is not in config/default', async () => {
    const kubectl = join(resolveAssets({ require: ['kubectl'] }), 'kubectl');
    const monitoring = parseManifests(mustSucceed('kustomize config/prometheus', await runCommand(kubectl, ['kustomize', join(REPO_ROOT, 'config/prometheus')])));
    const sm = findOne(monitoring, 'ServiceMonitor');
    const pm = findOne(monitoring, 'PodMonitor');
    const base = parseManifests(mustSucceed('kustomize config/default', await runCommand(kubectl, ['kustomize', join(REPO_ROOT, 'config/default')])));
    const service = findOne(base, 'Service', 'hotdesk-operator-metrics');
    for (const [k, v] of Object.entries(at(sm, 'spec', 'selector', 'matchLabels') as Record<string, string>)) {
      assert.equal(service.metadata.labels?.[k], v, `ServiceMonitor selector ${k}`);
    }
    assert.equal(at(sm, 'spec', 'endpoints', 0, 'port'), 'metrics');
    assert.deepEqual(at(pm, 'spec', 'selector', 'matchLabels'), { 'app.kubernetes.io/name': 'hotdesk-edge', 'app.kubernetes.io/component': 'edge' });
    assert.ok(!base.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor'));
    assert.deepEqual(base.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name).sort(), CRD_NAMES);
  });
});
