import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { KINDS, API_GROUP } from '../../src/api/group.ts';
import { edgeRoleManifest, overreachingRoleManifest } from './edge-permissions.ts';
import { CHART_DIR, at, cleanUpHelm, findOne, helm, mustSucceed, readRepoFile, renderChart, type Manifest } from './tools.ts';

const CRD_NAMES = Object.values(KINDS).map((k) => `${k.plural}.${API_GROUP}`).sort();
const ALL_OPTIONAL_FEATURES = [
  'serviceMonitor.enabled=true',
  'podMonitor.enabled=true',
  'prometheusRule.enabled=true',
  'grafanaDashboard.enabled=true',
  'networkPolicy.enabled=true',
];
const GATED_KINDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'NetworkPolicy', 'ConfigMap'];

after(cleanUpHelm);

function podLabels(deployment: Manifest): Record<string, string> {
  return at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('helm lint', () => {
  test('the chart lints cleanly, also in strict mode', async () => {
    const out = mustSucceed('helm lint', await helm(['lint', '--strict', CHART_DIR]));
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('values.schema.json rejects a misspelt value instead of ignoring it', async () => {
    for (const typo of ['replicaCont=3', 'serviceMonitor.enable=true', 'crds.kep=false']) {
      const r = await helm(['template', 'x', CHART_DIR, '--set', typo]);
      assert.notEqual(r.code, 0, `--set ${typo} was accepted`);
      assert.match(r.stderr, /additional properties/);
    }
  });

  test('values.schema.json rejects a wrong type', async () => {
    const r = await helm(['template', 'x', CHART_DIR, '--set', 'logLevel=loud']);
    assert.notEqual(r.code, 0);
  });
});

describe('helm template with defaults', () => {
  let objects: Manifest[];
  before(async () => {
    objects = await renderChart();
  });

  test('renders the operator and nothing optional', () => {
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      'ClusterRole', 'ClusterRoleBinding',
      'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
      'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding',
    ]);
    for (const gated of GATED_KINDS) assert.ok(!kinds.includes(gated), `${gated} rendered although disabled`);
  });

  test('the controller runs 2 replicas with leader election', () => {
    const d = findOne(objects, 'Deployment');
    assert.equal(at(d, 'spec', 'replicas'), 2);
    const c = at(d, 'spec', 'template', 'spec', 'containers', 0);
    assert.deepEqual(c.args, ['src/cmd/controller.ts']);
    const env = Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.equal(env.HOTDESK_LEADER_ELECT, 'true');
    assert.ok('HOTDESK_NAMESPACE' in env && env.HOTDESK_NAMESPACE === undefined, 'no watch namespace: all namespaces');
    assert.equal(env.HOTDESK_EDGE_IMAGE, c.image, 'edges run the controller image by default');
    assert.equal(env.LOG_LEVEL, 'info');
  });

  test('the controller is locked down: non-root, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const d = findOne(objects, 'Deployment');
    const pod = at(d, 'spec', 'template', 'spec');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    const c = pod.containers[0];
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.seccompProfile.type, 'RuntimeDefault');
    const tmp = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.mountPath === '/tmp');
    assert.ok(tmp, '/tmp is writable');
    const vol = (pod.volumes as { name: string; emptyDir?: object }[]).find((v) => v.name === tmp.name);
    assert.ok(vol?.emptyDir, '/tmp is an emptyDir');
  });

  test('probes hit /healthz and /readyz on the port serving metrics', () => {
    const c = at(findOne(objects, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    const port = (c.ports as { name: string; containerPort: number }[]).find((p) => p.name === c.livenessProbe.httpGet.port);
    assert.equal(port?.containerPort, 8080);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.readinessProbe.httpGet.port, c.livenessProbe.httpGet.port);
  });

  test('replicas spread over nodes and zones, and the PDB and Service select the controller pods', () => {
    const d = findOne(objects, 'Deployment');
    const labels = podLabels(d);
    assert.ok(selects(at(d, 'spec', 'selector', 'matchLabels'), labels));
    const spread = at(d, 'spec', 'template', 'spec', 'topologySpreadConstraints') as { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
    assert.deepEqual(spread.map((s) => s.topologyKey), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const s of spread) assert.ok(selects(s.labelSelector.matchLabels, labels), `${s.topologyKey} spread selects the controller pods`);
    const pdb = findOne(objects, 'PodDisruptionBudget');
    assert.equal(at(pdb, 'spec', 'maxUnavailable'), 1);
    assert.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels'), labels));
    const svc = findOne(objects, 'Service');
    assert.ok(selects(at(svc, 'spec', 'selector'), labels));
    assert.deepEqual(at(svc, 'spec', 'ports').map((p: { name: string; targetPort: string }) => [p.name, p.targetPort]), [['metrics', 'http']]);
  });

  test('the CRDs are templates kept on uninstall', () => {
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), CRD_NAMES);
    for (const crd of crds) assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', crd.metadata.name);
  });

  test('the controller is bound cluster-wide and leader election is limited to its Lease', () => {
    const sa = findOne(objects, 'ServiceAccount');
    const crb = findOne(objects, 'ClusterRoleBinding');
    assert.equal(at(crb, 'roleRef', 'name'), findOne(objects, 'ClusterRole').metadata.name);
    assert.deepEqual(at(crb, 'subjects'), [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'hotdesk-system' }]);
    assert.equal(at(findOne(objects, 'Deployment'), 'spec', 'template', 'spec', 'serviceAccountName'), sa.metadata.name);
    const role = findOne(objects, 'Role');
    const leaseRules = (at(role, 'rules') as { resources: string[]; resourceNames?: string[]; verbs: string[] }[]).filter((r) => r.resources.includes('leases'));
    assert.deepEqual(leaseRules.flatMap((r) => r.verbs).sort(), ['create', 'get', 'update']);
    for (const r of leaseRules.filter((r) => !r.verbs.includes('create'))) assert.deepEqual(r.resourceNames, ['hotdesk-operator']);
    assert.equal(at(findOne(objects, 'RoleBinding'), 'roleRef', 'name'), role.metadata.name);
  });

  test('the ClusterRole never grants wildcards or secret writes, and matches config/rbac exactly', () => {
    const rules = at(findOne(objects, 'ClusterRole'), 'rules') as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const r of rules) {
      assert.ok(!r.verbs.includes('*') && !r.resources.includes('*') && !r.apiGroups.includes('*'), JSON.stringify(r));
      assert.ok(!r.verbs.includes('escalate') && !r.verbs.includes('bind'), 'no RBAC escalation shortcuts');
      if (r.resources.includes('secrets')) assert.deepEqual(r.verbs, ['get'], 'Secrets are read one by one, never listed or watched');
    }
    const kustomizeRole = parse(readRepoFile('config/rbac/role.yaml')) as { rules: unknown };
    assert.deepEqual(rules, kustomizeRole.rules);
    const kustomizeLeader = parse(readRepoFile('config/rbac/leader_election_role.yaml')) as { rules: unknown };
    assert.deepEqual(at(findOne(objects, 'Role'), 'rules'), kustomizeLeader.rules);
  });

  test('the edge admission policies are bound and are the ones config/policy ships', () => {
    const shipped = parseAllDocuments(readRepoFile('config/policy/edge_own_pool_policy.yaml')).map((d) => d.toJS() as Manifest);
    for (const what of ['edge-own-sessions', 'edge-own-status']) {
      const policy = findOne(objects, 'ValidatingAdmissionPolicy', `hotdesk-operator-${what}`);
      const binding = findOne(objects, 'ValidatingAdmissionPolicyBinding', `hotdesk-operator-${what}`);
      assert.equal(at(binding, 'spec', 'policyName'), policy.metadata.name);
      assert.deepEqual(at(binding, 'spec', 'validationActions'), ['Deny']);
      assert.equal(at(policy, 'spec', 'failurePolicy'), 'Fail');
      const kPolicy = findOne(shipped, 'ValidatingAdmissionPolicy', `hotdesk-${what}`);
      const kBinding = findOne(shipped, 'ValidatingAdmissionPolicyBinding', `hotdesk-${what}`);
      assert.deepEqual(at(policy, 'spec'), kPolicy.spec, what);
      assert.deepEqual({ ...at(binding, 'spec'), policyName: kBinding.metadata.name }, kBinding.spec, what);
    }
  });
});

describe('helm template with options', () => {
  test('every optional feature renders and points at the right objects', async () => {
    const objects = await renderChart(ALL_OPTIONAL_FEATURES);
    const deployment = findOne(objects, 'Deployment');
    const svc = findOne(objects, 'Service');

    const sm = findOne(objects, 'ServiceMonitor');
    assert.ok(selects(at(sm, 'spec', 'selector', 'matchLabels'), svc.metadata.labels ?? {}), 'ServiceMonitor selects the metrics Service');
    assert.equal(at(sm, 'spec', 'endpoints', 0, 'port'), 'metrics');
    assert.equal(at(sm, 'spec', 'endpoints', 0, 'honorLabels'), true);

    const pm = findOne(objects, 'PodMonitor');
    assert.deepEqual(at(pm, 'spec', 'selector', 'matchLabels'), { 'app.kubernetes.io/name': 'hotdesk-edge', 'app.kubernetes.io/component': 'edge' });
    assert.equal(at(pm, 'spec', 'podMetricsEndpoints', 0, 'port'), 'metrics');
    assert.deepEqual(at(pm, 'spec', 'namespaceSelector'), { any: true });
    assert.match(at(pm, 'spec', 'jobLabel'), /name/, 'job label comes from the edge pods (hotdesk-edge), as HotDeskEdgeDown expects');

    const rule = findOne(objects, 'PrometheusRule');
    assert.deepEqual(at(rule, 'spec'), parse(readRepoFile('deploy/prometheus/alerts.yaml')));

    const dash = findOne(objects, 'ConfigMap');
    assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
    assert.deepEqual(JSON.parse(at(dash, 'data', 'hotdesk-dashboard.json')), JSON.parse(readRepoFile('deploy/grafana/hotdesk-dashboard.json')));

    const np = findOne(objects, 'NetworkPolicy');
    assert.ok(selects(at(np, 'spec', 'podSelector', 'matchLabels'), podLabels(deployment)));
    assert.deepEqual(at(np, 'spec', 'ingress', 0, 'ports'), [{ port: 'http', protocol: 'TCP' }]);
  });

  test('monitoring objects take the labels a Prometheus or Grafana selects on', async () => {
    const objects = await renderChart([
      ...ALL_OPTIONAL_FEATURES,
      'serviceMonitor.labels.release=kube-prometheus',
      'podMonitor.labels.release=kube-prometheus',
      'prometheusRule.labels.release=kube-prometheus',
      'grafanaDashboard.namespace=monitoring',
    ]);
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) {
      assert.equal(findOne(objects, kind).metadata.labels?.release, 'kube-prometheus', kind);
    }
    assert.equal(findOne(objects, 'ConfigMap').metadata.namespace, 'monitoring');
  });

  test('the chart embeds the deploy/ dashboard and alerts byte for byte', () => {
    assert.equal(readFileSync(join(CHART_DIR, 'files/alerts.yaml'), 'utf8'), readRepoFile('deploy/prometheus/alerts.yaml'));
    assert.equal(readFileSync(join(CHART_DIR, 'files/hotdesk-dashboard.json'), 'utf8'), readRepoFile('deploy/grafana/hotdesk-dashboard.json'));
  });

  test('watching one namespace binds the permissions in that namespace only', async () => {
    const objects = await renderChart(['watchNamespace=tenant-a']);
    assert.equal(objects.filter((o) => o.kind === 'ClusterRoleBinding').length, 0);
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' && at(o, 'roleRef', 'kind') === 'ClusterRole');
    assert.deepEqual(bindings.map((b) => b.metadata.namespace), ['tenant-a']);
    const c = at(findOne(objects, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    assert.equal((c.env as { name: string; value?: string }[]).find((e) => e.name === 'HOTDESK_NAMESPACE')?.value, 'tenant-a');
  });

  test('without leader election there is no Lease Role and the flag is off', async () => {
    const objects = await renderChart(['leaderElection=false', 'replicaCount=1']);
    assert.equal(objects.filter((o) => o.kind === 'Role').length, 0);
    const d = findOne(objects, 'Deployment');
    assert.equal(at(d, 'spec', 'replicas'), 1);
    const env = at(d, 'spec', 'template', 'spec', 'containers', 0, 'env') as { name: string; value?: string }[];
    assert.equal(env.find((e) => e.name === 'HOTDESK_LEADER_ELECT')?.value, 'false');
  });

  test('the edge admission policy can be left out', async () => {
    const objects = await renderChart(['rbac.edgeAdmissionPolicy=false']);
    assert.equal(objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy')).length, 0);
  });

  test('CRDs can be left out or left unprotected', async () => {
    assert.equal((await renderChart(['crds.enabled=false'])).filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
    const unkept = (await renderChart(['crds.keep=false'])).filter((o) => o.kind === 'CustomResourceDefinition');
    assert.equal(unkept.length, CRD_NAMES.length);
    for (const crd of unkept) assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], undefined);
  });

  test('an image digest pins both the controller and the edges', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const c = at(findOne(await renderChart([`image.digest=${digest}`]), 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    assert.equal(c.image, `ghcr.io/hotdesk-operator/hotdesk-operator@${digest}`);
    assert.equal((c.env as { name: string; value?: string }[]).find((e) => e.name === 'HOTDESK_EDGE_IMAGE')?.value, c.image);
  });
});

describe('helm install into a real API server', () => {
  let cp: ControlPlane;
  const release = 'hotdesk-operator';
  const ns = 'hotdesk-system';
  const sa = `system:serviceaccount:${ns}:${release}`;

  before(async () => {
    // The chart brings its own CRDs.
    cp = await startControlPlane({ installCrds: false });
  });
  after(async () => {
    await cp?.stop();
  });

  const kube = (args: string[]) => cp.kubectl(args).then((r) => mustSucceed(`kubectl ${args.join(' ')}`, r));
  const helmKube = (args: string[]) => helm([...args, '--kubeconfig', cp.kubeconfigPath]);

  test('installs the CRDs, the controller and its RBAC', async () => {
    const out = mustSucceed('helm install', await helmKube(['install', release, CHART_DIR, '--namespace', ns, '--create-namespace']));
    assert.match(out, /STATUS: deployed/);
    assert.match(out, /watches all namespaces/, 'NOTES.txt is rendered');

    mustSucceed('CRDs established', await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`)]));
    const deployment = JSON.parse(await kube(['get', 'deployment', release, '-n', ns, '-o', 'json']));
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    for (const [kind, name] of [['serviceaccount', release], ['service', `${release}-metrics`], ['poddisruptionbudget', release], ['role', `${release}-leader-election`], ['rolebinding', `${release}-leader-election`]] as const) {
      await kube(['get', kind, name, '-n', ns]);
    }
    await kube(['get', 'clusterrole', release]);
    await kube(['get', 'clusterrolebinding', release]);
    const resources = await kube(['api-resources', '-o', 'name']);
    for (const gated of ['servicemonitors', 'podmonitors', 'prometheusrules']) {
      assert.ok(!resources.includes(gated), `${gated} were installed although disabled and not available`);
    }
  });

  test('the controller may do what it needs and nothing more', async () => {
    const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', '--as', sa, ...args])).stdout.trim();
    assert.equal(await can('patch', 'hotdeskdevices.hotdesk.io', '--subresource=status', '-n', 'tenant-a'), 'yes');
    assert.equal(await can('patch', 'hotdeskdevices.hotdesk.io', '-n', 'tenant-a'), 'no', 'the controller writes status only');
    assert.equal(await can('list', 'services', '-n', 'tenant-a'), 'no', 'applied, never read');
    assert.equal(await can('create', 'deployments.apps', '-n', 'tenant-a'), 'yes');
    assert.equal(await can('get', 'secrets', '-n', 'tenant-a'), 'yes');
    assert.equal(await can('list', 'secrets', '-n', 'tenant-a'), 'no');
    assert.equal(await can('update', 'leases.coordination.k8s.io/hotdesk-operator', '-n', ns), 'yes');
    assert.equal(await can('create', 'secrets', '-n', 'tenant-a'), 'no');
    assert.equal(await can('update', 'leases.coordination.k8s.io/someone-else', '-n', ns), 'no');
    assert.equal(await can('delete', 'customresourcedefinitions.apiextensions.k8s.io'), 'no');
    assert.equal(await can('create', 'clusterroles.rbac.authorization.k8s.io'), 'no');
  });

  test("the controller can grant a pool's edge its Role, but not more than it holds", async () => {
    await kube(['create', 'namespace', 'tenant-a']);
    const created = await cp.kubectl(['create', '--as', sa, '-f', '-'], { input: JSON.stringify(edgeRoleManifest('tenant-a')) });
    assert.equal(created.code, 0, `the API server refused the edge Role: ${created.stderr}`);
    const refused = await cp.kubectl(['create', '--as', sa, '-f', '-'], { input: JSON.stringify(overreachingRoleManifest('tenant-a')) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /attempting to grant RBAC permissions not currently held/);
  });

  test('uninstall removes the controller but keeps the CRDs', async () => {
    mustSucceed('helm uninstall', await helmKube(['uninstall', release, '--namespace', ns]));
    const gone = await cp.kubectl(['get', 'deployment', release, '-n', ns]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
    const crds = parseAllDocuments(await kube(['get', 'crd', '-o', 'yaml']))[0]?.toJS() as { items: Manifest[] };
    assert.deepEqual(crds.items.map((c) => c.metadata.name).filter((n) => n.endsWith(`.${API_GROUP}`)).sort(), CRD_NAMES);
  });
});
