// The controller's entrypoint: reconciles hot-desk resources; one active replica by Lease.
import { readFileSync } from 'node:fs';
import { createController } from '../controller/controller.ts';
import { createLogger } from '../log.ts';
import { electionTimings } from '../runtime/leader-election.ts';
import { loadKubeConfig } from './kubeconfig.ts';

const logger = createLogger('hotdesk-controller');
const env = process.env;

function podNamespace(): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

const leaderElect = (env.HOTDESK_LEADER_ELECT ?? 'true') !== 'false';
const millis = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined);
// Refuse bad timings before any work starts, naming the setting; unset ones take the defaults.
const timings = electionTimings({ leaseDurationMs: millis('HOTDESK_LEASE_DURATION_MS'), renewDeadlineMs: millis('HOTDESK_LEASE_RENEW_MS'), retryPeriodMs: millis('HOTDESK_LEASE_RETRY_MS') });
const mgr = createController({
  kubeConfig: loadKubeConfig(),
  namespace: env.HOTDESK_NAMESPACE || undefined,
  leaderElection: leaderElect
    ? {
        namespace: env.HOTDESK_LEASE_NAMESPACE ?? podNamespace(),
        name: env.HOTDESK_LEASE_NAME ?? 'hotdesk-operator',
        ...(env.POD_NAME ? { identity: env.POD_NAME } : {}),
        ...timings,
      }
    : false,
  server: { host: env.HOTDESK_METRICS_HOST ?? '0.0.0.0', port: Number(env.HOTDESK_METRICS_PORT ?? 8080) },
  ...(env.HOTDESK_EDGE_IMAGE ? { edgeImage: env.HOTDESK_EDGE_IMAGE } : {}),
  logger,
});

mgr.run((m) => {
  // A parent process (tests, the demo) reads the bound port from this line.
  process.stdout.write(`${JSON.stringify({ ready: true, port: m.port })}\n`);
}).then(
  () => process.exit(0),
  (err: unknown) => {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'controller failed');
    process.exit(1);
  },
);
