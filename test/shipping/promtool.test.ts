import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCommand } from '../../src/envtest/command.ts';
import { KNOWN_METRICS, metricNamesIn } from './metric-names.ts';
import { REPO_ROOT, readRepoFile } from './tools.ts';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const RULES = join(REPO_ROOT, 'deploy/prometheus/alerts.yaml');
const RULE_TESTS = join(REPO_ROOT, 'deploy/prometheus/alerts.test.yaml');
const EXPECTED_ALERTS = ['HotDeskEdgeDown', 'HotDeskReconcileErrors', 'HotDeskPinBruteForce', 'HotDeskDevicesNotResynced'];

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleTest { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }

const rules = (): Rule[] => (parse(readRepoFile('deploy/prometheus/alerts.yaml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

test('promtool accepts the alert rules', async () => {
  const r = await runCommand(PROMTOOL, ['check', 'rules', RULES]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 4 rules found/);
});

test('the rule file holds exactly the four HotDesk alerts, each with severity, summary and description', () => {
  const all = rules();
  assert.deepEqual(all.map((r) => r.alert).sort(), [...EXPECTED_ALERTS].sort());
  for (const r of all) {
    assert.match(r.labels?.severity ?? '', /^(critical|warning)$/, `${r.alert} severity`);
    assert.ok(r.annotations?.summary, `${r.alert} summary`);
    assert.ok(r.annotations?.description, `${r.alert} description`);
    assert.ok(r.for, `${r.alert} has a for: duration, so one bad scrape does not page`);
  }
});

test('alerts use only metrics the controller and the edge expose', () => {
  for (const r of rules()) {
    const unknown = metricNamesIn(r.expr).filter((m) => !KNOWN_METRICS.has(m));
    assert.deepEqual(unknown, [], `${r.alert} refers to unknown metrics`);
  }
});

test('every alert has a promtool case where it fires and one where it stays quiet', () => {
  const tests = (parse(readRepoFile('deploy/prometheus/alerts.test.yaml')) as { tests: RuleTest[] }).tests;
  const checks = tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const alert of EXPECTED_ALERTS) {
    const mine = checks.filter((c) => c.alertname === alert);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} has no firing case`);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} has no quiet case`);
  }
});

test('promtool unit tests of the alerts pass', async () => {
  const r = await runCommand(PROMTOOL, ['test', 'rules', RULE_TESTS]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('the unit tests catch a weakened rule file', async () => {
  // Each mutation breaks one alert the way a careless edit would; the suite must notice every one.
  const mutations: [string, (text: string) => string][] = [
    ['edge down without waiting', (t) => t.replace('for: 5m', 'for: 0m')],
    ['absent edges alert even without pools', (t) => t.replace('and on() (count(hotdesk_devices) > 0)', 'and on() vector(1)')],
    ['PIN threshold far too high', (t) => t.replace('* 60 > 5', '* 60 > 500')],
    ['lockout branch dropped', (t) => t.replace(/\n\s*or\n\s*sum by \(namespace, pool\) \(increase\(hotdesk_lockouts_total\[15m\]\)\) >= 3/, '')],
    ['reconcile errors without waiting', (t) => t.replace(/(HotDeskReconcileErrors[\s\S]*?)for: 10m/, '$1for: 1m')],
    ['resync pending counted per replica', (t) => t.replace('max by (namespace, pool) (hotdesk_devices_resync_pending)', 'hotdesk_devices_resync_pending')],
  ];
  const original = readRepoFile('deploy/prometheus/alerts.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-promtool-'));
  try {
    copyFileSync(RULE_TESTS, join(dir, 'alerts.test.yaml'));
    for (const [what, mutate] of mutations) {
      const mutated = mutate(original);
      assert.notEqual(mutated, original, `mutation "${what}" did not apply`);
      writeFileSync(join(dir, 'alerts.yaml'), mutated);
      const r = await runCommand(PROMTOOL, ['test', 'rules', join(dir, 'alerts.test.yaml')]);
      assert.notEqual(r.code, 0, `the unit tests did not notice: ${what}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
