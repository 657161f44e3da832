/**
 * A real Prometheus (the Debian package's /usr/bin/prometheus) on loopback, scraping static
 * targets, and a small client for its HTTP query API. For tests that check the dashboard and the
 * alerts against what the programs really export.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freeLoopbackPort } from '../support/ports.ts';

const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

export interface ScrapeJob {
  job: string;
  /** host:port of the target's /metrics. */
  target: string;
  /** Target labels, as service discovery and relabelling would attach them in a cluster. */
  labels?: Record<string, string>;
  /** Keep the scraped series' own labels when they clash with target labels. */
  honorLabels?: boolean;
}

export interface Sample {
  metric: Record<string, string>;
  /** Prometheus sends values as strings: "NaN" and "+Inf" included. */
  value: [number, string];
}

export interface QueryResult {
  resultType: string;
  result: Sample[];
}

export interface Prometheus {
  url: string;
  /** An instant query; rejects with Prometheus' error text for an invalid expression. */
  query(expr: string): Promise<QueryResult>;
  /** Values of one label across the series a selector matches, as Grafana's label_values() reads them. */
  labelValues(label: string, selector: string): Promise<string[]>;
  /** Resolves once every target has been scraped successfully. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** What Prometheus printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(jobs: ScrapeJob[], opts: { scrapeInterval?: string } = {}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-prometheus-'));
  const interval = opts.scrapeInterval ?? '1s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    scrape_configs: jobs.map((j) => ({
      job_name: j.job,
      honor_labels: j.honorLabels ?? false,
      static_configs: [{ targets: [j.target], labels: j.labels ?? {} }],
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = once(child, 'exit');

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data?: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.errorType ?? ''} ${body.error ?? res.status}`);
    return body.data as T;
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await poll('Prometheus to answer', async () => (child.exitCode !== null ? fail(`Prometheus exited:\n${output}`) : (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok), 20_000);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    query: (expr) => api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    labelValues: (label, selector) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(selector)}`),
    waitForTargetsUp: async (timeoutMs = 20_000) => {
      await poll('every scrape target to be up', async () => {
        const data = await api<{ activeTargets: { health: string; lastError: string; scrapeUrl: string }[] }>('/api/v1/targets?state=active');
        return data.activeTargets.length === jobs.length && data.activeTargets.every((t) => t.health === 'up');
      }, timeoutMs);
    },
    log: () => output,
    stop,
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** Polls until probe() is truthy; the last error (if any) goes into the timeout message. */
export async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
      if (err instanceof Error && err.message.startsWith('Prometheus exited')) throw err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`);
}
