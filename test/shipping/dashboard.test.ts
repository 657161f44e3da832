import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCommand } from '../../src/envtest/command.ts';
import { KNOWN_METRICS, metricNamesIn } from './metric-names.ts';
import { readRepoFile } from './tools.ts';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

interface Target { refId: string; expr: string; legendFormat?: string; datasource?: { uid: string } }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { type: string; uid: string }; targets?: Target[] }
interface Variable { name: string; type: string; query: unknown }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } }

const dashboard = (): Dashboard => JSON.parse(readRepoFile('deploy/grafana/hotdesk-dashboard.json')) as Dashboard;
const queryPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');
const allExprs = (d: Dashboard) => queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

test('the dashboard is a current Grafana dashboard with a Prometheus data source variable', () => {
  const d = dashboard();
  assert.equal(d.uid, 'hotdesk-operator');
  assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41, `schemaVersion ${d.schemaVersion}`);
  const ds = d.templating.list.find((v) => v.type === 'datasource');
  assert.equal(ds?.name, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  for (const p of queryPanels(d)) {
    assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" is bound to a fixed data source`);
    assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no query`);
  }
  assert.deepEqual(d.templating.list.map((v) => v.name).filter((n) => ['namespace', 'pool'].includes(n)), ['namespace', 'pool']);
});

test('panels have unique ids and do not overlap on the 24-column grid', () => {
  const d = dashboard();
  const ids = d.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
  const cells = new Map<string, string>();
  for (const p of d.panels) {
    const { x, y, w, h } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `panel "${p.title}" leaves the grid`);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        const key = `${row}:${col}`;
        assert.ok(!cells.has(key), `panels "${cells.get(key)}" and "${p.title}" overlap`);
        cells.set(key, p.title);
      }
    }
  }
});

test('the dashboard covers desks, logins, PIN abuse, calls, SIP, provisioning and the controller', () => {
  const used = new Set(allExprs(dashboard()).flatMap((e) => metricNamesIn(e.expr)));
  const required = [
    'hotdesk_devices', 'hotdesk_sessions_active', 'hotdesk_logins_total', 'hotdesk_logouts_total',
    'hotdesk_pin_failures_total', 'hotdesk_lockouts_total', 'hotdesk_session_duration_seconds_bucket',
    'hotdesk_blocked_calls_total', 'hotdesk_emergency_calls_total', 'sip_requests_total', 'sip_responses_total',
    'provisioning_requests_total', 'sip_parse_errors_total', 'sip_framing_errors_total', 'sip_rate_limited_total',
    'sip_overload_rejections_total', 'sip_connections_refused_total', 'sip_transactions', 'sip_transaction_bytes', 'sip_connections',
    'controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total',
    'controller_runtime_reconcile_time_seconds_bucket', 'workqueue_depth',
  ];
  assert.deepEqual(required.filter((m) => !used.has(m)), [], 'metrics with no panel');
});

test('every query uses only metrics the controller and the edge expose', () => {
  for (const { panel, expr } of allExprs(dashboard())) {
    assert.deepEqual(metricNamesIn(expr).filter((m) => !KNOWN_METRICS.has(m)), [], `panel "${panel}": ${expr}`);
  }
});

test('every query is valid PromQL (checked by promtool once Grafana variables are filled in)', async () => {
  const filled = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?(\w+)\}?/g, '.*');
  const exprs = allExprs(dashboard());
  const ruleFile = { groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: filled(e.expr) })) }] };
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-dashboard-'));
  try {
    const file = join(dir, 'queries.yaml');
    writeFileSync(file, stringify(ruleFile));
    const r = await runCommand(PROMTOOL, ['check', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantile panels aggregate histogram buckets by le', () => {
  for (const { panel, expr } of allExprs(dashboard())) {
    if (!expr.includes('histogram_quantile')) continue;
    assert.match(expr, /sum by \(le[,)]/, `panel "${panel}" loses the le label: ${expr}`);
    assert.match(expr, /_bucket\{/, `panel "${panel}" takes a quantile of something other than buckets`);
  }
});
