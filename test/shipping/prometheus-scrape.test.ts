// End to end: a real Prometheus scrapes a running controller and edge while desk phones log in,
// get a PIN wrong until locked out, dial a blocked and an emergency number, fetch their files and
// log out. Then every dashboard panel must show data and every alert must measure real series.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { createController } from '../../src/controller/controller.ts';
import { startEdge } from '../../src/edge/edge.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { freeEvenLoopbackPort, freeLoopbackPort } from '../support/ports.ts';
import { ScriptedPhone } from '../../src/demo/scripted-phone.ts';
import { startStandInPbx } from '../../src/demo/standin-pbx.ts';
import { alertBranches, labelsUsedIn } from './alert-branches.ts';
import { labelValuesVariables, panelTargets, regexOfValues, substituteVariables } from './dashboard-queries.ts';
import { controllerScrapeJob, edgeScrapeJob } from './monitor-targets.ts';
import { poll, startPrometheus, type Prometheus, type Sample } from './prometheus.ts';
import { at, cleanUpHelm, readRepoFile, renderChart, REPO_ROOT } from './tools.ts';

process.env.LOG_LEVEL ??= 'error';

const NS = 'default';
const POOL = 'london-office';
const DOMAIN = 'example.3cx.eu';
// From config/samples: desk-3f-14 (HD0002) is where bob logs in; meeting-room-2 (HD0003) is
// where someone guesses a PIN and dials out while idle; alice stays logged in at desk-3f-12.
const BOB = { extension: '102', pin: '1357' };
const LOGIN_DESK = { name: 'desk-3f-14', identity: 'HD0002', mac: 'c074ad0102a3', provisioningPassword: 'sample-only-prov-3f-14' };
const GUESS_DESK = { identity: 'HD0003' };
const LOCKED_USER = { name: 'dave', extension: '103', pin: '8642' };
const CONTROLLER_POD = { name: 'hotdesk-operator-6d8f7b9c5d-x2k4q', container: 'controller' };
const EDGE_POD_NAME = 'london-office-edge-7c9d8f6b4-m5n7p';

const cleanups: Array<() => Promise<unknown>> = [];
let cp: ControlPlane;
let prometheus: Prometheus;
/** When Prometheus started: rate windows reach back to here, so they hold the whole run. */
let scrapingSince = 0;

const kubectl = async (...args: string[]) => {
  const r = await cp.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
};
const getJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;
interface SessionItem { metadata: { name: string }; spec: { user: string; device: string; origin: string }; status?: { phase?: string; endReason?: string } }
const sessions = async () => (await getJson<{ items: SessionItem[] }>('hotdesksessions')).items;

/** Polls Prometheus until the expression's first sample reaches `atLeast`. */
async function seenByPrometheus(expr: string, atLeast: number): Promise<void> {
  await poll(`Prometheus to see ${expr} >= ${atLeast}`, async () => {
    const r = await prometheus.query(expr);
    return r.result.some((s) => Number(s.value[1]) >= atLeast);
  }, 20_000);
}

async function provisioningFetch(httpPort: number, file: string, user: string, password: string): Promise<string> {
  const r = await runCommand('curl', ['-sS', '--digest', '-u', `${user}:${password}`, '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${httpPort}/${file}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

before(async () => {
  try {
    cp = await startControlPlane();
    cleanups.push(() => cp.stop());
    // As deployed: leader election on, so the Leader panel has its series.
    const mgr = createController({
      kubeConfig: cp.kubeConfig,
      leaderElection: { namespace: NS, name: 'hotdesk-operator', identity: CONTROLLER_POD.name },
      server: { host: '127.0.0.1', port: 0 },
    });
    await mgr.start();
    cleanups.push(() => mgr.stop());
    const pbx = await startStandInPbx();
    cleanups.push(() => pbx.stop());

    await kubectl('apply', '-k', `${REPO_ROOT}config/samples`);
    await kubectl('patch', 'hotdeskpool', POOL, '--type=merge', '-p', JSON.stringify({
      spec: { pbx: { host: '127.0.0.1', port: pbx.port, transport: 'udp' }, edge: { advertisedHost: '127.0.0.1' } },
    }));
    await cp.kubectl(['apply', '-f', '-'], { input: [
      'apiVersion: v1', 'kind: Secret', `metadata: {name: ${LOCKED_USER.name}-sip, labels: {hotdesk.io/pool: ${POOL}}}`, 'stringData:', '  password: test-only-dave', `  pin: "${LOCKED_USER.pin}"`, '---',
      'apiVersion: hotdesk.io/v1alpha1', 'kind: HotDeskUser', `metadata: {name: ${LOCKED_USER.name}}`,
      `spec: {pool: ${POOL}, extension: "${LOCKED_USER.extension}", displayName: Dave Test, secretRef: {name: ${LOCKED_USER.name}-sip}}`,
    ].join('\n') }).then((r) => assert.equal(r.code, 0, r.stderr));

    // As the controller runs it: the IVR's RTP on the pool's ports, and the media relay between replicas.
    const rtpPort = await freeEvenLoopbackPort();
    const edge = await startEdge({
      kubeConfig: cp.kubeConfig, namespace: NS, pool: POOL, host: '127.0.0.1', sipPort: 0, httpPort: 0, metricsPort: 0,
      rtpPortRange: { min: rtpPort, max: rtpPort }, mediaRelayPort: await freeLoopbackPort(),
    });
    cleanups.push(() => edge.stop());
    await kubectl('patch', 'hotdeskpool', POOL, '--type=merge', '-p', JSON.stringify({ spec: { edge: { sipPort: edge.sipPort, httpPort: edge.httpPort, metricsPort: edge.metricsPort, rtpPorts: { first: rtpPort, count: 1 } } } }));

    // Scrape both the way the chart's ServiceMonitor and PodMonitor would in a cluster: the edge
    // pod's labels are those of the Deployment the controller wrote for the pool.
    const chart = await renderChart(['serviceMonitor.enabled=true', 'podMonitor.enabled=true']);
    const edgeDeployment = await poll('the edge Deployment', async () => {
      const list = await getJson<{ items: unknown[] }>('deployments', '-l', `hotdesk.io/pool=${POOL}`);
      return list.items[0];
    }, 20_000);
    const edgeContainer = at(edgeDeployment, 'spec', 'template', 'spec', 'containers', 0) as { name: string; ports: { name: string }[] };
    const controllerJob = controllerScrapeJob(chart, `127.0.0.1:${mgr.port}`, CONTROLLER_POD);
    const edgeJob = edgeScrapeJob(chart, `127.0.0.1:${edge.metricsPort}`, {
      name: EDGE_POD_NAME, namespace: NS, container: edgeContainer.name, labels: at(edgeDeployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>,
    });
    assert.ok(edgeContainer.ports.some((p) => p.name === edgeJob.labels?.endpoint), `the edge container has no port named ${edgeJob.labels?.endpoint} for the PodMonitor`);
    prometheus = await startPrometheus([controllerJob, edgeJob]);
    cleanups.push(() => prometheus.stop());
    scrapingSince = Date.now();
    await prometheus.waitForTargetsUp();

    const idleFiles = await poll('desk-3f-14 rendered with the edge ports', async () => {
      const data = (await getJson<{ data?: Record<string, string> }>('configmap', `${LOGIN_DESK.name}-provisioning`).catch(() => ({ data: undefined }))).data;
      return data && Object.values(data).some((c) => c.includes(`127.0.0.1:${edge.sipPort}`)) ? Object.keys(data) : undefined;
    }, 30_000);
    const phoneAt = async (identity: string) => {
      const phone = await ScriptedPhone.start({ identity, domain: DOMAIN, edge: { host: '127.0.0.1', port: edge.sipPort } });
      cleanups.push(() => phone.stop());
      assert.equal((await phone.register()).status, 200, `${identity} registers`);
      return phone;
    };

    // The idle phone fetches its file, then bob logs in with his PIN.
    for (const file of idleFiles) assert.equal(await provisioningFetch(edge.httpPort, file, LOGIN_DESK.mac, LOGIN_DESK.provisioningPassword), '200');
    const deskPhone = await phoneAt(LOGIN_DESK.identity);
    const resync = deskPhone.nextNotify(20_000);
    const login = await deskPhone.dial(`*77*${BOB.extension}*`, `${BOB.pin}#`);
    assert.equal(login.status, 200, 'the login call is answered');
    assert.ok(await resync, 'the desk phone is told to re-sync');
    await poll('bob to be logged in', async () => (await sessions()).find((s) => s.spec.user === 'bob' && s.status?.phase === 'Active'), 20_000);
    // As the phone would after check-sync: fetch the occupied file, register as bob.
    for (const file of idleFiles) assert.equal(await provisioningFetch(edge.httpPort, file, LOGIN_DESK.mac, LOGIN_DESK.provisioningPassword), '200');
    const bobPhone = await phoneAt(BOB.extension);

    // At the meeting room: three wrong PINs for dave (a lockout), then a call out and 911.
    const roomPhone = await phoneAt(GUESS_DESK.identity);
    const guess = await roomPhone.dial(`*77*${LOCKED_USER.extension}*`, '1111#1111#1111#');
    assert.equal(guess.status, 200);
    assert.ok(guess.hungUpByEdge, 'the edge hangs up on the third wrong PIN');
    assert.equal((await roomPhone.dial('0044207946000', '')).status, 403, 'an idle phone may not call out');
    assert.equal((await roomPhone.dial('911', '')).status, 480, 'the emergency call reaches the (stand-in) PBX');

    // Bob logs out with the feature code; a second session (booked by an admin) is then ended by
    // kubectl delete, after Prometheus has seen the first end, so session durations have a rate.
    const logout = await bobPhone.dial('*77*5*', '');
    assert.equal(logout.status, 200, 'the logout call is answered');
    await poll('bob to be logged out', async () => (await sessions()).find((s) => s.spec.user === 'bob' && s.status?.phase === 'Ended' && s.status.endReason === 'logout'), 20_000);
    await seenByPrometheus('sum(hotdesk_session_duration_seconds_count)', 1);
    await cp.kubectl(['apply', '-f', '-'], { input: `apiVersion: hotdesk.io/v1alpha1\nkind: HotDeskSession\nmetadata: {name: bob-booked}\nspec: {device: ${LOGIN_DESK.name}, user: bob, origin: admin}\n` })
      .then((r) => assert.equal(r.code, 0, r.stderr));
    await poll('the booked session to start', async () => (await sessions()).find((s) => s.metadata.name === 'bob-booked' && s.status?.phase === 'Active'), 20_000);
    await kubectl('delete', 'hotdesksession', 'bob-booked', '--wait=false');
    await seenByPrometheus('sum(hotdesk_session_duration_seconds_count)', 2);
    await seenByPrometheus('sum(hotdesk_lockouts_total)', 1);
  } catch (err) {
    if (prometheus) process.stderr.write(`prometheus output:\n${prometheus.log()}\n`);
    throw err;
  }
});

after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  cleanUpHelm();
});

/** A window reaching back to the first scrape: an instant query over it sees the whole run, as a graph of the run would. */
const runWindow = () => `${Math.ceil((Date.now() - scrapingSince) / 1000) + 5}s`;
const describe = (samples: Sample[]) => samples.map((s) => `${JSON.stringify(s.metric)} ${s.value[1]}`).join('; ');

const dashboard = () => JSON.parse(readRepoFile('deploy/grafana/hotdesk-dashboard.json'));

/** Each variable's choices as Grafana would list them, and all of them selected, as written into queries. */
async function dashboardVariables(): Promise<{ offered: Record<string, string[]>; values: Record<string, string> }> {
  const offered: Record<string, string[]> = {};
  const values: Record<string, string> = { datasource: 'prometheus' };
  for (const v of labelValuesVariables(dashboard())) {
    offered[v.name] = (await prometheus.labelValues(v.label, substituteVariables(v.selector, values))).sort();
    values[v.name] = regexOfValues(offered[v.name]!);
  }
  return { offered, values };
}

test('the dashboard variables offer the namespace, pool and jobs that are being scraped', async () => {
  const { offered } = await dashboardVariables();
  assert.deepEqual(offered, {
    namespace: [NS],
    pool: [POOL],
    controller_job: ['hotdesk-operator-metrics'],
    edge_job: ['hotdesk-edge'],
  });
});

test('every dashboard panel query returns data from the running controller and edge', async (t) => {
  const values = { ...(await dashboardVariables()).values, __rate_interval: runWindow(), __interval: '1s', __range: runWindow() };
  const empty: string[] = [];
  for (const target of panelTargets(dashboard())) {
    const expr = substituteVariables(target.expr, values);
    assert.doesNotMatch(expr, /\$/, `panel "${target.panel}" ${target.refId}: a variable was left in ${expr}`);
    const r = await prometheus.query(expr);
    // NaN is what histogram_quantile gives for buckets that never moved: Grafana draws nothing.
    const drawn = r.result.filter((s) => !Number.isNaN(Number(s.value[1])));
    t.diagnostic(`${target.panel} ${target.refId}: ${drawn.length} series drawn`);
    if (drawn.length === 0) empty.push(`panel "${target.panel}" ${target.refId}: ${expr}\n  -> ${r.result.length === 0 ? 'no series' : describe(r.result)}`);
  }
  assert.deepEqual(empty, [], `panels without data:\n${empty.join('\n')}`);
});

test('the traffic shows up where the dashboard looks for it', async () => {
  // Each of these moved during the run; a panel showing a flat zero would hide it.
  const window = runWindow();
  const moved = [
    `hotdesk_logins_total{result="success"}`,
    `hotdesk_logouts_total`,
    `hotdesk_pin_failures_total{job="hotdesk-edge",pool="${POOL}"}`,
    `hotdesk_lockouts_total{job="hotdesk-edge",pool="${POOL}"}`,
    `hotdesk_blocked_calls_total{job="hotdesk-edge",pool="${POOL}"}`,
    `hotdesk_emergency_calls_total{job="hotdesk-edge",pool="${POOL}"}`,
    `provisioning_requests_total{result="served",pool="${POOL}"}`,
    `hotdesk_feature_codes_total{code="logout",result="success"}`,
    `hotdesk_session_duration_seconds_count{pool="${POOL}"}`,
    `hotdesk_login_duration_seconds_count{pool="${POOL}"}`,
    `hotdesk_login_reregister_seconds_count{pool="${POOL}"}`,
  ];
  for (const series of moved) {
    const r = await prometheus.query(`sum(max_over_time(${series}[${window}]))`);
    assert.ok(r.result.some((s) => Number(s.value[1]) > 0), `${series} never went above zero: ${describe(r.result)}`);
  }
  const pinFailures = await prometheus.query(`sum(hotdesk_pin_failures_total{pool="${POOL}"})`);
  assert.equal(Number(pinFailures.result[0]?.value[1]), 3, 'three wrong PINs were entered');
});

interface AlertRule { alert: string; expr: string; annotations?: Record<string, string> }

test('every alert expression evaluates, and what it measures exists with the labels its annotations print', async () => {
  const rules = (parse(readRepoFile('deploy/prometheus/alerts.yaml')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((g) => g.rules);
  assert.ok(rules.length > 0);
  const problems: string[] = [];
  for (const rule of rules) {
    await prometheus.query(rule.expr).catch((err: unknown) => problems.push(`${rule.alert}: ${String(err)}`));
    const needed = labelsUsedIn(Object.values(rule.annotations ?? {}));
    for (const branch of alertBranches(rule.expr)) {
      // A branch that fires on absence has nothing to measure while everything is scraped.
      if (branch.onAbsence) continue;
      const r = await prometheus.query(branch.measured).catch((err: unknown) => ({ result: [] as Sample[], error: String(err) }));
      if (r.result.length === 0) {
        problems.push(`${rule.alert}: ${branch.measured} selects nothing`);
        continue;
      }
      for (const s of r.result) {
        const missing = needed.filter((l) => !s.metric[l]);
        // The edge-down summary prints the pod only when it has one; every other label must be there.
        if (missing.length > 0) problems.push(`${rule.alert}: ${branch.measured} gives ${JSON.stringify(s.metric)} without ${missing.join(', ')} for its annotations`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
