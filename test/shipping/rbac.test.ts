import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { createController } from '../../src/controller/controller.ts';
import { SecretReader } from '../../src/edge/secret-reader.ts';
import { GROUP_VERSION } from '../../src/api/group.ts';
import { HOTDESK_KINDS } from '../../src/api/kinds.ts';
import { ANNOTATION_LOGOUT_REQUESTED, LABEL_POOL } from '../../src/api/labels.ts';
import { ApiError, collectionPath, KubeClient, objectPath, type Manager } from '../../src/runtime/index.ts';
import { eventually } from '../support/eventually.ts';
import { deviceYaml, namespaceYaml, poolYaml, userYaml } from '../controller/manifests.ts';
import { cleanUpHelm, mustSucceed, renderChart } from './tools.ts';

/**
 * Least privilege as shipped, against the real API server: the controller runs under the chart's
 * rendered RBAC with a token of the chart's ServiceAccount, each pool's edge under the Role and
 * ServiceAccount the controller makes for it, and the chart's ValidatingAdmissionPolicy keeps
 * each edge to its own pool.
 */

const RELEASE_NS = 'hotdesk-system';
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

let cp: ControlPlane;
let controller: Manager;
const controllerLog: string[] = [];

after(cleanUpHelm);
after(async () => {
  await controller?.stop();
  await cp?.stop();
});

async function kube(args: string[], input?: string): Promise<string> {
  return mustSucceed(`kubectl ${args.join(' ')}`, await cp.kubectl(args, input === undefined ? {} : { input }));
}

async function getJson<T = any>(ns: string, ...what: string[]): Promise<T | undefined> {
  const r = await cp.kubectl(['get', ...what, '-o', 'json'], { namespace: ns });
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

/** A client that authenticates with a ServiceAccount's token, as a pod would. */
async function clientAs(namespace: string, serviceAccount: string): Promise<KubeClient> {
  const token = (await kube(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).trim();
  const cluster = cp.kubeConfig.getCurrentCluster();
  assert.ok(cluster);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: serviceAccount, token }],
    contexts: [{ name: serviceAccount, cluster: cluster.name, user: serviceAccount }],
    currentContext: serviceAccount,
  });
  return new KubeClient(kc);
}

/** Requests the API server refused with 403, by verb and resource, from its own metrics. */
async function forbiddenCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of (await kube(['get', '--raw', '/metrics'])).split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('code="403"')) continue;
    const label = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

function newForbidden(before: Map<string, number>, now: Map<string, number>): string[] {
  return [...now].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k, n]) => `${k}: ${n - (before.get(k) ?? 0)}`);
}

/** The status code the API server answered with (200 when it accepted). */
async function answer(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
    return { code: 200, message: '' };
  } catch (err) {
    if (err instanceof ApiError) return { code: err.statusCode, message: err.message };
    throw err;
  }
}

/** The ServiceAccount the controller made for a pool's edge, found by its labels. */
async function edgeServiceAccount(ns: string, pool: string): Promise<string> {
  return eventually(`edge ServiceAccount of ${pool}`, async () => {
    const list = await getJson<{ items: { metadata: { name: string } }[] }>(ns, 'serviceaccounts', '-l', `app.kubernetes.io/name=hotdesk-edge,${LABEL_POOL}=${pool}`);
    return list?.items.length === 1 ? list.items[0]!.metadata.name : undefined;
  }, 30_000);
}

async function edgeRoleSecrets(ns: string, pool: string): Promise<string[] | undefined> {
  const list = await getJson<{ items: { rules: { resources: string[]; resourceNames?: string[] }[] }[] }>(ns, 'roles', '-l', `app.kubernetes.io/name=hotdesk-edge,${LABEL_POOL}=${pool}`);
  if (list?.items.length !== 1) return undefined;
  return list.items[0]!.rules.find((r) => r.resources.includes('secrets'))?.resourceNames ?? [];
}

function sessionBody(ns: string, name: string, device: string, user: string, pool?: string): object {
  return {
    apiVersion: GROUP_VERSION,
    kind: HOTDESK_KINDS.session.kind,
    metadata: { name, namespace: ns, ...(pool ? { labels: { [LABEL_POOL]: pool } } : {}) },
    spec: { device, user, origin: 'featureCode' },
  };
}

const createSession = (client: KubeClient, ns: string, body: object) => client.request({ method: 'POST', path: collectionPath(HOTDESK_KINDS.session, ns), body });
const mergePatch = (client: KubeClient, path: string, body: object) => client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body });
const sessionPath = (ns: string, name: string, sub?: string) => objectPath(HOTDESK_KINDS.session, ns, name, sub);

async function sessionPhase(ns: string, name: string): Promise<{ phase?: string; endReason?: string; message?: string } | undefined> {
  return (await getJson(ns, 'hotdesksession', name))?.status;
}

before(async () => {
  cp = await startControlPlane();
  await kube(['apply', '-f', '-'], namespaceYaml(RELEASE_NS));
  const chart = await renderChart();
  const rbac = chart.filter((o) => RBAC_KINDS.includes(o.kind));
  assert.deepEqual([...new Set(rbac.map((o) => o.kind))].sort(), [...RBAC_KINDS].sort(), 'the chart ships every RBAC kind and the admission policy');
  await kube(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
});

describe("the controller under the chart's RBAC", () => {
  test('reconciles, grants the edge its Role, and drives a login and a logout with 0 forbidden answers', { timeout: 180_000 }, async () => {
    const ns = 'tenant';
    await kube(['apply', '-f', '-'], [
      namespaceYaml(ns),
      poolYaml(ns, 'office'),
      userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'),
      userYaml(ns, 'bob', 'office', '102', 'bob-Secret-Pw2', '7390'),
      deviceYaml(ns, 'desk-1', 'office', '00156500b001', 'HD0001', 'idle-Secret-Pw1'),
    ].join('---\n'));
    const forbiddenBefore = await forbiddenCounts();

    // As the chart runs it: the chart's ServiceAccount, leader election on the chart's Lease.
    const controllerClient = await clientAs(RELEASE_NS, 'hotdesk-operator');
    controller = createController({
      kubeConfig: controllerClient.kubeConfig,
      leaderElection: { namespace: RELEASE_NS, name: 'hotdesk-operator' },
      server: { host: '127.0.0.1', port: 0 },
      logger: pino({ level: 'info' }, { write: (line: string) => void controllerLog.push(line) }),
      shutdownGraceMs: 2_000,
    });
    await controller.start();

    await eventually('desk-1 idle', async () => (await getJson(ns, 'hotdeskdevice', 'desk-1'))?.status?.phase === 'Idle', 60_000);
    await eventually('alice Ready', async () => (await getJson(ns, 'hotdeskuser', 'alice'))?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True', 30_000);
    // The RBAC escalation check let the controller grant what it holds.
    assert.deepEqual(await eventually('edge Role', () => edgeRoleSecrets(ns, 'office'), 30_000), ['alice-sip', 'bob-sip', 'desk-1-idle']);
    const lease = await getJson(RELEASE_NS, 'lease', 'hotdesk-operator');
    assert.ok(lease?.spec?.holderIdentity, 'the controller leads through the Lease the chart lets it use');

    // Login at the phone: the edge creates the session, labelled for its pool.
    const edge = await clientAs(ns, await edgeServiceAccount(ns, 'office'));
    // Each replica learns its ready peers from the edge Service's EndpointSlices (replica-peers.ts).
    await edge.request({ method: 'GET', path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Doffice-edge` });
    await createSession(edge, ns, sessionBody(ns, 'alice-at-desk-1', 'desk-1', 'alice', 'office'));
    await eventually('alice active', async () => (await sessionPhase(ns, 'alice-at-desk-1'))?.phase === 'Active', 30_000);
    await eventually('desk-1 occupied', async () => (await getJson(ns, 'hotdeskdevice', 'desk-1'))?.status?.occupant?.user === 'alice', 30_000);
    // Logout at the phone: the edge marks the session, the controller ends it.
    await mergePatch(edge, sessionPath(ns, 'alice-at-desk-1'), { metadata: { annotations: { [ANNOTATION_LOGOUT_REQUESTED]: new Date().toISOString() } } });
    const ended = await eventually('alice logged out', async () => {
      const s = await sessionPhase(ns, 'alice-at-desk-1');
      return s?.phase === 'Ended' ? s : undefined;
    }, 30_000);
    assert.equal(ended.endReason, 'logout');
    await eventually('desk-1 idle again', async () => (await getJson(ns, 'hotdeskdevice', 'desk-1'))?.status?.phase === 'Idle', 30_000);

    // An admin login (kubectl hotdesk login makes no label) and a forced logout by deletion.
    await kube(['apply', '-f', '-'], JSON.stringify({ ...sessionBody(ns, 'bob-at-desk-1', 'desk-1', 'bob'), spec: { device: 'desk-1', user: 'bob', origin: 'admin' } }));
    const labelled = await eventually('bob active and labelled', async () => {
      const s = await getJson(ns, 'hotdesksession', 'bob-at-desk-1');
      return s?.status?.phase === 'Active' ? s : undefined;
    }, 30_000);
    assert.equal(labelled.metadata.labels?.[LABEL_POOL], 'office', 'the controller labels a session made without its pool');
    await kube(['delete', 'hotdesksession', 'bob-at-desk-1', '-n', ns, '--wait=true', '--timeout=30s']);
    await eventually('desk-1 idle after the forced logout', async () => (await getJson(ns, 'hotdeskdevice', 'desk-1'))?.status?.phase === 'Idle', 30_000);

    assert.deepEqual(newForbidden(forbiddenBefore, await forbiddenCounts()), [], 'the API server refused none of these requests');
    assert.deepEqual(controllerLog.filter((l) => /forbidden|\b403\b/i.test(l)), [], 'the controller logged no refusal');
  });
});

describe('edges of two pools in one namespace', () => {
  const ns = 'shared';
  let edgeA: KubeClient;
  let edgeB: KubeClient;

  before(async () => {
    assert.ok(controller, 'the controller runs (started by the test above)');
    await kube(['apply', '-f', '-'], [
      namespaceYaml(ns),
      poolYaml(ns, 'pool-a'),
      poolYaml(ns, 'pool-b'),
      userYaml(ns, 'anna', 'pool-a', '201', 'anna-Secret-Pw', '2222'),
      userYaml(ns, 'bert', 'pool-b', '301', 'bert-Secret-Pw', '3333'),
      deviceYaml(ns, 'desk-a', 'pool-a', '00156500c001', 'HDA001', 'idle-a-Pw'),
      deviceYaml(ns, 'desk-b', 'pool-b', '00156500c002', 'HDB001', 'idle-b-Pw'),
    ].join('---\n'));
    edgeA = await clientAs(ns, await edgeServiceAccount(ns, 'pool-a'));
    edgeB = await clientAs(ns, await edgeServiceAccount(ns, 'pool-b'));
    await eventually('desks idle', async () => {
      const list = await getJson<{ items: any[] }>(ns, 'hotdeskdevices');
      return list?.items.length === 2 && list.items.every((d) => d.status?.phase === 'Idle');
    }, 60_000);
  });

  test("one edge's ServiceAccount is refused on another pool's session and status, and allowed on its own", { timeout: 120_000 }, async () => {
    const forbiddenBefore = await forbiddenCounts();
    // Create: only sessions labelled for its own pool.
    assert.equal((await answer(createSession(edgeA, ns, sessionBody(ns, 'anna-at-desk-a', 'desk-a', 'anna', 'pool-a')))).code, 200);
    const foreign = await answer(createSession(edgeA, ns, sessionBody(ns, 'forged', 'desk-b', 'bert', 'pool-b')));
    assert.equal(foreign.code, 403, foreign.message);
    assert.match(foreign.message, /the edge of pool pool-a may write only its own pool's hotdesksessions/);
    assert.equal((await answer(createSession(edgeA, ns, sessionBody(ns, 'unlabelled', 'desk-b', 'bert')))).code, 403, 'a session without a pool label is nobody\'s edge\'s to create');

    // Pool B's own session, made by its edge.
    assert.equal((await answer(createSession(edgeB, ns, sessionBody(ns, 'bert-at-desk-b', 'desk-b', 'bert', 'pool-b')))).code, 200);
    await eventually('both sessions active', async () => (await sessionPhase(ns, 'anna-at-desk-a'))?.phase === 'Active' && (await sessionPhase(ns, 'bert-at-desk-b'))?.phase === 'Active', 30_000);

    // Patch status, mark for logout, relabel, delete: refused on pool B's session.
    const now = new Date().toISOString();
    for (const [what, attempt] of [
      ['patch status', () => mergePatch(edgeA, sessionPath(ns, 'bert-at-desk-b', 'status'), { status: { lastActivityAt: now } })],
      ['mark for logout', () => mergePatch(edgeA, sessionPath(ns, 'bert-at-desk-b'), { metadata: { annotations: { [ANNOTATION_LOGOUT_REQUESTED]: now } } })],
      ['relabel to its own pool', () => mergePatch(edgeA, sessionPath(ns, 'bert-at-desk-b'), { metadata: { labels: { [LABEL_POOL]: 'pool-a' } } })],
      ['delete', () => edgeA.request({ method: 'DELETE', path: sessionPath(ns, 'bert-at-desk-b') })],
      ['move its own session to pool B', () => mergePatch(edgeA, sessionPath(ns, 'anna-at-desk-a'), { metadata: { labels: { [LABEL_POOL]: 'pool-b' } } })],
    ] as const) {
      const r = await answer(attempt());
      assert.equal(r.code, 403, `${what}: ${r.message}`);
    }
    assert.equal((await sessionPhase(ns, 'bert-at-desk-b'))?.phase, 'Active', 'pool B\'s session is untouched');

    // Devices and users: status of its own pool's only.
    const deviceStatus = (name: string) => objectPath(HOTDESK_KINDS.device, ns, name, 'status');
    const userStatus = (name: string) => objectPath(HOTDESK_KINDS.user, ns, name, 'status');
    assert.equal((await answer(mergePatch(edgeA, deviceStatus('desk-b'), { status: { lastResync: { sentAt: now } } }))).code, 403);
    assert.equal((await answer(mergePatch(edgeA, userStatus('bert'), { status: { failedPinAttempts: 0 } }))).code, 403);
    assert.equal((await answer(mergePatch(edgeA, deviceStatus('desk-a'), { status: { lastResync: { sentAt: now } } }))).code, 200);
    assert.equal((await answer(mergePatch(edgeA, userStatus('anna'), { status: { failedPinAttempts: 0 } }))).code, 200);

    // Its own session: status, logout and (after it ended) deletion are allowed.
    assert.equal((await answer(mergePatch(edgeA, sessionPath(ns, 'anna-at-desk-a', 'status'), { status: { lastActivityAt: now } }))).code, 200);
    assert.equal((await answer(mergePatch(edgeA, sessionPath(ns, 'anna-at-desk-a'), { metadata: { annotations: { [ANNOTATION_LOGOUT_REQUESTED]: now } } }))).code, 200);
    await eventually('anna logged out', async () => (await sessionPhase(ns, 'anna-at-desk-a'))?.endReason === 'logout', 30_000);
    assert.equal((await answer(edgeA.request({ method: 'DELETE', path: sessionPath(ns, 'anna-at-desk-a') }))).code, 200);

    // The count of forbidden answers the first test relies on sees these refusals.
    const refused = newForbidden(forbiddenBefore, await forbiddenCounts());
    assert.ok(refused.includes('POST hotdesksessions: 2'), refused.join(', '));
    assert.ok(refused.includes('DELETE hotdesksessions: 1'), refused.join(', '));
  });

  test('a session an edge labels for itself on a desk of another pool is refused by the controller', { timeout: 60_000 }, async () => {
    assert.equal((await answer(createSession(edgeA, ns, sessionBody(ns, 'anna-at-desk-b', 'desk-b', 'anna', 'pool-a')))).code, 200, 'the label is its own, so admission lets it in');
    const s = await eventually('refused', async () => {
      const st = await sessionPhase(ns, 'anna-at-desk-b');
      return st?.phase === 'Refused' ? st : undefined;
    }, 30_000);
    assert.match(s.message ?? '', /labelled for pool pool-a, but device desk-b belongs to pool pool-b/);
    assert.equal((await sessionPhase(ns, 'bert-at-desk-b'))?.phase, 'Active', 'pool B\'s occupant stays');
  });
});

describe('Secrets opt in to a pool', () => {
  const ns = 'optin';
  let edge: KubeClient;

  before(async () => {
    assert.ok(controller, 'the controller runs (started by the first test)');
    await kube(['apply', '-f', '-'], [
      namespaceYaml(ns),
      poolYaml(ns, 'office'),
      poolYaml(ns, 'branch'),
      userYaml(ns, 'alice', 'office', '101', 'alice-Secret-Pw1', '4821'),
      deviceYaml(ns, 'desk-1', 'office', '00156500d001', 'HD0001', 'idle-Secret-Pw1'),
      // Secrets a spec author names but that never opted in to the office pool.
      `apiVersion: v1\nkind: Secret\nmetadata: {name: database-password, namespace: ${ns}}\nstringData: {password: db-Secret-Pw}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: branch-sip, namespace: ${ns}, labels: {${LABEL_POOL}: branch}}\nstringData: {password: branch-Secret-Pw, pin: "5555"}\n`,
      `apiVersion: hotdesk.io/v1alpha1\nkind: HotDeskUser\nmetadata: {name: mallory, namespace: ${ns}}\nspec: {pool: office, extension: "666", secretRef: {name: branch-sip}}\n`,
      `apiVersion: hotdesk.io/v1alpha1\nkind: HotDeskDevice\nmetadata: {name: desk-2, namespace: ${ns}}\nspec:\n  mac: 00156500d002\n  vendor: yealink\n  model: T54W\n  pool: office\n  idleIdentity: {username: HD0002, secretRef: {name: database-password}}\n`,
    ].join('---\n'));
    edge = await clientAs(ns, await edgeServiceAccount(ns, 'office'));
  });

  test('the controller refuses them with a condition and an Event naming the field, and never adds them to the Role', { timeout: 60_000 }, async () => {
    const mallory = await eventually('mallory refused', async () => {
      const ready = (await getJson(ns, 'hotdeskuser', 'mallory'))?.status?.conditions?.find((c: any) => c.type === 'Ready');
      return ready?.reason === 'SecretForOtherPool' ? ready : undefined;
    }, 30_000);
    assert.equal(mallory.status, 'False');
    assert.match(mallory.message, /^spec\.secretRef\.name: Secret branch-sip is labelled for pool branch/);
    const desk = await eventually('desk-2 refused', async () => {
      const d = await getJson(ns, 'hotdeskdevice', 'desk-2');
      return d?.status?.conditions?.find((c: any) => c.type === 'Provisioned')?.reason === 'SecretNotOptedIn' ? d : undefined;
    }, 30_000);
    assert.equal(desk.status.phase, 'Error');
    assert.match(desk.status.conditions.find((c: any) => c.type === 'Provisioned').message, /^spec\.idleIdentity\.secretRef\.name: Secret database-password has not opted in to pool office/);
    const events = async (name: string) => (await kube(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']));
    assert.match(await events('mallory'), /SecretForOtherPool: spec\.secretRef\.name: /);
    assert.match(await events('desk-2'), /SecretNotOptedIn: spec\.idleIdentity\.secretRef\.name: /);

    const names = await eventually('edge Role', () => edgeRoleSecrets(ns, 'office'), 30_000);
    assert.deepEqual(names, ['alice-sip', 'desk-1-idle'], 'only the Secrets labelled for the pool');
  });

  test('a Secret that has not opted in is never readable by the edge', { timeout: 60_000 }, async () => {
    const get = (name: string) => answer(edge.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/secrets/${name}` }));
    assert.equal((await get('alice-sip')).code, 200);
    for (const name of ['database-password', 'branch-sip']) {
      const r = await get(name);
      assert.equal(r.code, 403, `${name}: ${r.message}`);
    }

    // The label taken away, the edge reads the Secret as absent even while its Role still names it.
    const reader = () => new SecretReader(edge, ns, 'office');
    assert.equal(await reader().value('alice-sip', 'password'), 'alice-Secret-Pw1');
    await kube(['label', 'secret', 'alice-sip', '-n', ns, `${LABEL_POOL}-`]);
    assert.ok((await edgeRoleSecrets(ns, 'office'))?.includes('alice-sip'), 'the Role has not caught up yet');
    assert.equal(await reader().value('alice-sip', 'password'), undefined);
    await kube(['label', 'secret', 'alice-sip', '-n', ns, `${LABEL_POOL}=branch`]);
    assert.equal(await reader().value('alice-sip', 'password'), undefined, 'labelled for another pool');
  });

  test('once labelled for the pool, a refused Secret is taken up', { timeout: 150_000 }, async () => {
    await kube(['label', 'secret', 'database-password', '-n', ns, `${LABEL_POOL}=office`]);
    // Secrets are not watched: the refused device is looked at again within a minute.
    await eventually('desk-2 idle', async () => (await getJson(ns, 'hotdeskdevice', 'desk-2'))?.status?.phase === 'Idle', 120_000, 1_000);
    await eventually('Role names it', async () => (await edgeRoleSecrets(ns, 'office'))?.includes('database-password'), 30_000);
  });
});
