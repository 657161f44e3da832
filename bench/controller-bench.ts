import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { KINDS } from '../src/api/group.ts';
import { startControlPlane, type ControlPlane } from '../src/envtest/controlplane.ts';
import { CONTROLLER_LANES, planRawWrites, runRawWrites } from './controller-raw.ts';
import { createFleet, createNamespace, expectedOccupancy, validateSize, type FleetSize } from './controller-fleet.ts';
import { ControllerProcess } from './controller-process.ts';
import { FleetProgress } from './controller-progress.ts';
import { diffCounts, formatCounts, scrapeWrites, total, type WriteCounts } from './controller-writes.ts';
import { flagOption, intOption, stringOption } from './lib/options.ts';
import { machineDescription } from './lib/proc.ts';
import { median, megabytes, seconds } from './lib/stats.ts';

/**
 * Controller throughput and memory (see bench/README.md, "Controller"):
 *  1. the controller (its own process) provisions a fleet created from here; timed from the first
 *     create until every ConfigMap and status is final;
 *  2. a plain client-node script makes the same writes with the controller's concurrency;
 *  3. the controller provisions a bigger fleet; its peak RSS (VmHWM) is read from /proc.
 */
const RESOURCES_THE_CONTROLLER_WRITES = new Set([
  'configmaps', 'events', 'serviceaccounts', 'roles', 'rolebindings', 'services', 'deployments',
  ...Object.values(KINDS).flatMap((k) => [k.plural, `${k.plural}/status`]),
]);

interface ControllerRun {
  namespace: string;
  size: FleetSize;
  /** First create → everything provisioned and Ready. */
  totalMs: number;
  /** First create → last create answered (the controller works meanwhile). */
  createMs: number;
  creates: number;
  writes: WriteCounts;
  failedWrites: WriteCounts;
  /** Writes the controller made after the finish line (within a short settle time). */
  trailingWrites: WriteCounts;
  peakRssKiB: number;
  cpuSeconds: number;
}

interface RawRun {
  namespace: string;
  createMs: number;
  writesMs: number;
  planned: WriteCounts;
  executed: WriteCounts;
  unmapped: WriteCounts;
}

const log = (msg: string) => process.stderr.write(`[bench controller ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const SETTLE_MS = 3_000;

function controllerWritesOnly(counts: WriteCounts): { controller: WriteCounts; other: WriteCounts } {
  const controller: WriteCounts = new Map();
  const other: WriteCounts = new Map();
  for (const [key, n] of counts) {
    const [verb, resource = ''] = key.split(' ');
    // Only the controller writes in this window except for the benchmark's creates, and the
    // controller creates nothing but Events.
    const mine = RESOURCES_THE_CONTROLLER_WRITES.has(resource) && (verb !== 'POST' || resource === 'events');
    (mine ? controller : other).set(key, n);
  }
  return { controller, other };
}

async function runController(plane: ControlPlane, namespace: string, size: FleetSize, createConcurrency: number, timeoutMs: number, cpuProfileDir: string | undefined, nodeOptions: string | undefined): Promise<ControllerRun> {
  const kc = plane.kubeConfig;
  await createNamespace(kc, namespace);
  const ctrl = await ControllerProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace, cpuProfileDir, nodeOptions });
  const progress = new FleetProgress(expectedOccupancy(size), size.users, size.sessions);
  try {
    await progress.start(kc, namespace);
    const before = await scrapeWrites(kc);
    let started = 0;
    const ticker = setInterval(() => {
      const c = progress.counts();
      log(`${namespace}: ${seconds(performance.now() - started)} s, ConfigMaps ${c.configMaps}/${size.devices}, devices done ${c.devicesDone}/${size.devices}, sessions Ready ${c.sessionsDone}/${size.sessions}, users Ready ${c.usersDone}/${size.users}, controller RSS ${megabytes(ctrl.peakRssKiB())} MB peak`);
    }, 10_000);
    try {
      const created = await createFleet(kc, namespace, size, createConcurrency, () => { started = performance.now(); });
      log(`${namespace}: ${created.creates} creates done in ${seconds(created.durationMs)} s`);
      const doneAt = await Promise.race([
        progress.done(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not provisioned after ${timeoutMs / 1000} s: ${JSON.stringify(progress.counts())}\ncontroller log:\n${ctrl.recentLog().join('\n')}`)), timeoutMs).unref()),
      ]);
      const atDone = await scrapeWrites(kc);
      const peakRssKiB = ctrl.peakRssKiB();
      const cpuSeconds = ctrl.cpuSeconds();
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const settled = await scrapeWrites(kc);
      const { controller: writes, other } = controllerWritesOnly(diffCounts(atDone.writes, before.writes));
      if (other.size > 0) log(`${namespace}: writes not counted as the controller's: ${formatCounts(other)}`);
      const failedWrites = controllerWritesOnly(diffCounts(atDone.failed, before.failed)).controller;
      const trailingWrites = controllerWritesOnly(diffCounts(settled.writes, atDone.writes)).controller;
      return { namespace, size, totalMs: doneAt - started, createMs: created.durationMs, creates: created.creates, writes, failedWrites, trailingWrites, peakRssKiB, cpuSeconds };
    } finally {
      clearInterval(ticker);
    }
  } finally {
    progress.stop();
    await ctrl.stop();
  }
}

async function runRaw(kc: KubeConfig, namespace: string, ctrl: ControllerRun, createConcurrency: number): Promise<RawRun> {
  await createNamespace(kc, namespace);
  // Timed too: the end-to-end comparison adds it, as the controller's time includes the creates.
  const created = await createFleet(kc, namespace, ctrl.size, createConcurrency);
  log(`${namespace}: ${created.creates} creates done in ${seconds(created.durationMs)} s`);
  const plan = await planRawWrites(kc, { from: ctrl.namespace, to: namespace, size: ctrl.size, controllerWrites: ctrl.writes, deviceUids: created.deviceUids });
  if (plan.unmapped.size > 0) log(`${namespace}: controller writes with no raw recipe (not replayed): ${formatCounts(plan.unmapped)}`);
  const before = await scrapeWrites(kc);
  const writesMs = await runRawWrites(plan, CONTROLLER_LANES);
  const after = await scrapeWrites(kc);
  const executed = controllerWritesOnly(diffCounts(after.writes, before.writes)).controller;
  log(`${namespace}: ${total(executed)} raw writes in ${seconds(writesMs)} s`);
  return { namespace, createMs: created.durationMs, writesMs, planned: plan.planned, executed, unmapped: plan.unmapped };
}

function shippedNodeOptions(): string | undefined {
  const values = parse(readFileSync(new URL('../charts/hotdesk-operator/values.yaml', import.meta.url), 'utf8')) as { nodeOptions?: string };
  return values.nodeOptions;
}

export async function runControllerBenchmark(): Promise<void> {
  const sessions = intOption('sessions', 1000);
  const size: FleetSize = { devices: intOption('devices', 5000), users: intOption('users', sessions), sessions };
  const rssSize: FleetSize = { ...size, devices: intOption('rss-devices', 10_000) };
  // --skip-ratio: only the memory run (e.g. to try --controller-node-options quickly).
  const repeats = flagOption('skip-ratio') ? 0 : Math.max(1, intOption('repeats', 1));
  const createConcurrency = intOption('create-concurrency', 8);
  const timeoutMs = intOption('timeout-s', 1800) * 1000;
  const cpuProfileDir = stringOption('cpu-prof', undefined);
  // By default the controller runs with the Node flags it ships with (the chart's nodeOptions).
  const nodeOptions = stringOption('controller-node-options', shippedNodeOptions() ?? '') || undefined;
  const skipRss = flagOption('skip-rss') || rssSize.devices === 0;
  const out = stringOption('out', undefined);
  validateSize(size);
  if (!skipRss) validateSize(rssSize);

  log(`fleet ${size.devices} devices, ${size.users} users, ${size.sessions} sessions; RSS run ${skipRss ? 'skipped' : `${rssSize.devices} devices`}; repeats ${repeats}; create concurrency ${createConcurrency}`);
  const plane = await startControlPlane();
  const runs: Array<{ ctrl: ControllerRun; raw: RawRun }> = [];
  let rss: ControllerRun | undefined;
  try {
    for (let r = 1; r <= repeats; r++) {
      const ctrl = await runController(plane, `bench-controller-${r}`, size, createConcurrency, timeoutMs, cpuProfileDir, nodeOptions);
      log(`controller run ${r}: ${seconds(ctrl.totalMs)} s, ${total(ctrl.writes)} writes, peak RSS ${megabytes(ctrl.peakRssKiB)} MB`);
      const raw = await runRaw(plane.kubeConfig, `bench-raw-${r}`, ctrl, createConcurrency);
      runs.push({ ctrl, raw });
    }
    if (!skipRss) {
      rss = await runController(plane, 'bench-rss', rssSize, createConcurrency, timeoutMs, cpuProfileDir, nodeOptions);
      log(`RSS run: ${rssSize.devices} devices provisioned in ${seconds(rss.totalMs)} s, peak RSS ${megabytes(rss.peakRssKiB)} MB`);
    }
  } finally {
    await plane.stop();
  }

  const ratio = median(runs.map(({ ctrl, raw }) => ctrl.totalMs / raw.writesMs));
  const ratioEndToEnd = median(runs.map(({ ctrl, raw }) => ctrl.totalMs / (raw.createMs + raw.writesMs)));
  const first = runs[0];
  const lines = [
    `date: ${new Date().toISOString()}`,
    `machine: ${machineDescription()}`,
    `command: npm run bench -- controller ${process.argv.slice(2).filter((a) => a.startsWith('--')).join(' ')}`.trim(),
    ...(nodeOptions ? [`controller NODE_OPTIONS: ${nodeOptions}`] : []),
    ...(first ? [`fleet: ${size.devices} devices, ${size.users} users (+ Secrets), ${size.sessions} sessions; creates: ${first.ctrl.creates} at concurrency ${createConcurrency}; controller workers: ${JSON.stringify(CONTROLLER_LANES)}`] : []),
    ...runs.map(({ ctrl, raw }, i) => [
      `run ${i + 1}: controller ${seconds(ctrl.totalMs)} s (creates finished at ${seconds(ctrl.createMs)} s), controller CPU ${ctrl.cpuSeconds.toFixed(1)} s, peak RSS ${megabytes(ctrl.peakRssKiB)} MB`,
      `run ${i + 1}: raw writes ${seconds(raw.writesMs)} s; raw creates ${seconds(raw.createMs)} s; ratio ${(ctrl.totalMs / raw.writesMs).toFixed(2)}, end-to-end ratio ${(ctrl.totalMs / (raw.createMs + raw.writesMs)).toFixed(2)}`,
      `run ${i + 1}: controller writes ${total(ctrl.writes)} (${formatCounts(ctrl.writes)}); failed ${total(ctrl.failedWrites)}${ctrl.failedWrites.size ? ` (${formatCounts(ctrl.failedWrites)})` : ''}; after the finish line (${SETTLE_MS / 1000} s) ${total(ctrl.trailingWrites)}${ctrl.trailingWrites.size ? ` (${formatCounts(ctrl.trailingWrites)})` : ''}`,
      `run ${i + 1}: raw writes planned ${total(raw.planned)}, seen by the API server ${total(raw.executed)} (${formatCounts(raw.executed)})${raw.unmapped.size ? `; not replayed: ${formatCounts(raw.unmapped)}` : ''}`,
    ]).flat(),
    ...(runs.length > 0 ? [
      `median ratio (controller time / raw writes time): ${ratio.toFixed(2)} (target ≤ 1.3)`,
      `median end-to-end ratio (controller time / (raw creates + raw writes)): ${ratioEndToEnd.toFixed(2)}`,
    ] : []),
    ...(rss ? [
      `RSS run: ${rssSize.devices} devices, ${rssSize.sessions} sessions provisioned in ${seconds(rss.totalMs)} s; controller peak RSS (VmHWM) ${megabytes(rss.peakRssKiB)} MB (target ≤ 300 MB); CPU ${rss.cpuSeconds.toFixed(1)} s; writes ${total(rss.writes)}`,
    ] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (out) {
    const json = (m: WriteCounts) => Object.fromEntries(m);
    writeFileSync(out, JSON.stringify({
      date: new Date().toISOString(), machine: machineDescription(), nodeOptions, size, rssSize: skipRss ? undefined : rssSize, createConcurrency, lanes: CONTROLLER_LANES,
      ratio, ratioEndToEnd,
      runs: runs.map(({ ctrl, raw }) => ({
        controller: { ...ctrl, writes: json(ctrl.writes), failedWrites: json(ctrl.failedWrites), trailingWrites: json(ctrl.trailingWrites) },
        raw: { ...raw, planned: json(raw.planned), executed: json(raw.executed), unmapped: json(raw.unmapped) },
      })),
      rss: rss ? { ...rss, writes: json(rss.writes), failedWrites: json(rss.failedWrites), trailingWrites: json(rss.trailingWrites) } : undefined,
    }, null, 2));
  }
}
