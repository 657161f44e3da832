/**
 * The job and target labels the prometheus-operator would give the chart's ServiceMonitor
 * (controller) and PodMonitor (edge) targets, so a test Prometheus with static targets sees the
 * same series the dashboard and the alerts select on in a cluster.
 */
import type { ScrapeJob } from './prometheus.ts';
import { at, findOne, type Manifest } from './tools.ts';

interface Relabeling { sourceLabels?: string[]; targetLabel?: string; action?: string; separator?: string; regex?: string; replacement?: string }

/** The controller Service's target, as the ServiceMonitor's endpoint scrapes it. */
export function controllerScrapeJob(chart: Manifest[], target: string, pod: { name: string; container: string }): ScrapeJob {
  const monitor = findOne(chart, 'ServiceMonitor');
  const endpoint = at(monitor, 'spec', 'endpoints', 0) as { port: string; honorLabels?: boolean; relabelings?: Relabeling[] };
  const selector = at(monitor, 'spec', 'selector', 'matchLabels') as Record<string, string>;
  const services = chart.filter((o) => o.kind === 'Service' && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v)
    && (at(o, 'spec', 'ports') as { name: string }[]).some((p) => p.name === endpoint.port));
  if (services.length !== 1) throw new Error(`the ServiceMonitor selects ${services.length} Services with port ${endpoint.port}`);
  const service = services[0]!;
  const jobLabel = at(monitor, 'spec', 'jobLabel') as string | undefined;
  const job = (jobLabel && service.metadata.labels?.[jobLabel]) || service.metadata.name;
  const labels = { namespace: service.metadata.namespace ?? 'default', service: service.metadata.name, pod: pod.name, container: pod.container, endpoint: endpoint.port };
  if (endpoint.relabelings?.length) throw new Error('the ServiceMonitor relabels; teach monitor-targets.ts to follow it');
  return { job, target, labels, honorLabels: endpoint.honorLabels ?? false };
}

/** An edge pod's target, as the PodMonitor scrapes it: job from its jobLabel, then its relabelings. */
export function edgeScrapeJob(chart: Manifest[], target: string, pod: { name: string; namespace: string; container: string; labels: Record<string, string> }): ScrapeJob {
  const monitor = findOne(chart, 'PodMonitor');
  const endpoint = at(monitor, 'spec', 'podMetricsEndpoints', 0) as { port: string; honorLabels?: boolean; relabelings?: Relabeling[] };
  const selector = at(monitor, 'spec', 'selector', 'matchLabels') as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) {
    if (pod.labels[k] !== v) throw new Error(`the PodMonitor would not select the edge pod: label ${k} is ${pod.labels[k]}, not ${v}`);
  }
  const jobLabel = at(monitor, 'spec', 'jobLabel') as string | undefined;
  const job = (jobLabel && pod.labels[jobLabel]) || `${monitor.metadata.namespace}/${monitor.metadata.name}`;
  const meta: Record<string, string> = Object.fromEntries(Object.entries(pod.labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`, v]));
  const labels: Record<string, string> = { namespace: pod.namespace, pod: pod.name, container: pod.container, endpoint: endpoint.port };
  for (const r of endpoint.relabelings ?? []) {
    if ((r.action ?? 'replace') !== 'replace' || !r.targetLabel || r.regex || r.replacement) throw new Error(`relabeling ${JSON.stringify(r)} is more than monitor-targets.ts follows`);
    const value = (r.sourceLabels ?? []).map((l) => meta[l] ?? labels[l] ?? '').join(r.separator ?? ';');
    // Prometheus' replace action with the default regex (.*) drops the label when the value is empty.
    if (value !== '') labels[r.targetLabel] = value;
  }
  return { job, target, labels, honorLabels: endpoint.honorLabels ?? false };
}
