import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Counts writes as the API server saw them, from its own apiserver_request_total counter.
 * The controller runs in its own process, so its client cannot be instrumented from here; the
 * server's counter is the ground truth. Keyed "VERB resource[/subresource]", summed over codes.
 */
export type WriteCounts = Map<string, number>;

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

export async function scrapeWrites(kc: KubeConfig): Promise<{ writes: WriteCounts; failed: WriteCounts }> {
  const text = await getMetrics(kc);
  const writes: WriteCounts = new Map();
  const failed: WriteCounts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = parseLabels(line.slice('apiserver_request_total{'.length, close));
    const value = Number(line.slice(close + 1).trim());
    const verb = labels.verb ?? '';
    if (!WRITE_VERBS.has(verb)) continue;
    const key = `${verb} ${labels.resource ?? ''}${labels.subresource ? `/${labels.subresource}` : ''}`;
    writes.set(key, (writes.get(key) ?? 0) + value);
    if (!(labels.code ?? '').startsWith('2')) failed.set(key, (failed.get(key) ?? 0) + value);
  }
  return { writes, failed };
}

export function diffCounts(after: WriteCounts, before: WriteCounts): WriteCounts {
  const out: WriteCounts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

export function subtract(counts: WriteCounts, known: WriteCounts): WriteCounts {
  const out: WriteCounts = new Map();
  for (const [k, v] of counts) {
    const d = v - (known.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

export function total(counts: WriteCounts): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}

export function formatCounts(counts: WriteCounts): string {
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`).join(', ');
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
}

async function getMetrics(kc: KubeConfig): Promise<string> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'text/plain' } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL('/metrics', server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET /metrics: ${res.statusCode} ${body.slice(0, 200)}`));
        else resolve(body);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
