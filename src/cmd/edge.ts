// The edge's entrypoint: one pool's SIP feature-code proxy, login IVR and provisioning server.
import { startEdge } from '../edge/edge.ts';
import { createLogger } from '../log.ts';
import { DEFAULT_MEDIA_RELAY_PORT } from '../edge/media-relay-datagram.ts';
import { parsePortRange } from '../media/rtp-session.ts';
import { readTlsCredentialsSync, watchTlsCredentialFiles, type TlsCredentialFiles, type TlsCredentials } from '../edge/tls-credential-files.ts';
import { loadKubeConfig } from './kubeconfig.ts';

const env = process.env;
const pool = env.HOTDESK_POOL;
const namespace = env.HOTDESK_NAMESPACE;
if (!pool || !namespace) {
  process.stderr.write('hotdesk edge: set HOTDESK_POOL and HOTDESK_NAMESPACE to the pool this edge serves\n');
  process.exit(2);
}
const provisioningWorkers = env.HOTDESK_PROVISIONING_WORKERS === undefined ? undefined : Number(env.HOTDESK_PROVISIONING_WORKERS);
if (provisioningWorkers !== undefined && !(Number.isInteger(provisioningWorkers) && provisioningWorkers >= 0)) {
  process.stderr.write(`hotdesk edge: HOTDESK_PROVISIONING_WORKERS must be a whole number, 0 or more (got ${JSON.stringify(env.HOTDESK_PROVISIONING_WORKERS)})\n`);
  process.exit(2);
}
const natKeepaliveSeconds = env.HOTDESK_NAT_KEEPALIVE_SECONDS === undefined ? undefined : Number(env.HOTDESK_NAT_KEEPALIVE_SECONDS);
if (natKeepaliveSeconds !== undefined && !(Number.isInteger(natKeepaliveSeconds) && natKeepaliveSeconds >= 0)) {
  process.stderr.write(`hotdesk edge: HOTDESK_NAT_KEEPALIVE_SECONDS must be a whole number of seconds, 0 (off) or more (got ${JSON.stringify(env.HOTDESK_NAT_KEEPALIVE_SECONDS)})\n`);
  process.exit(2);
}
const rtpPortRange = env.HOTDESK_RTP_PORTS ? parsePortRange(env.HOTDESK_RTP_PORTS) : undefined;
if (typeof rtpPortRange === 'string') {
  process.stderr.write(`hotdesk edge: HOTDESK_RTP_PORTS: ${rtpPortRange}\n`);
  process.exit(2);
}
// The IVR's RTP relay between replicas (src/edge/media-relay.ts), pod to pod; only with RTP ports.
const mediaRelayPort = env.HOTDESK_MEDIA_RELAY_PORT === undefined ? DEFAULT_MEDIA_RELAY_PORT : Number(env.HOTDESK_MEDIA_RELAY_PORT);
if (!(Number.isInteger(mediaRelayPort) && mediaRelayPort >= 1 && mediaRelayPort <= 65535)) {
  process.stderr.write(`hotdesk edge: HOTDESK_MEDIA_RELAY_PORT must be a port, 1-65535 (got ${JSON.stringify(env.HOTDESK_MEDIA_RELAY_PORT)})\n`);
  process.exit(2);
}
// SIP over TLS for phones: the port, and the PEM files of a kubernetes.io/tls Secret mounted by the controller.
let tls: { port: number; files: TlsCredentialFiles; credentials: TlsCredentials } | undefined;
if (env.HOTDESK_SIP_TLS_PORT) {
  const port = Number(env.HOTDESK_SIP_TLS_PORT);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    process.stderr.write(`hotdesk edge: HOTDESK_SIP_TLS_PORT must be a port number, 1 to 65535 (got ${JSON.stringify(env.HOTDESK_SIP_TLS_PORT)})\n`);
    process.exit(2);
  }
  const certFile = env.HOTDESK_SIP_TLS_CERT_FILE;
  const keyFile = env.HOTDESK_SIP_TLS_KEY_FILE;
  if (!certFile || !keyFile) {
    process.stderr.write('hotdesk edge: HOTDESK_SIP_TLS_PORT is set: set HOTDESK_SIP_TLS_CERT_FILE and HOTDESK_SIP_TLS_KEY_FILE to the PEM certificate and key too\n');
    process.exit(2);
  }
  try {
    tls = { port, files: { certFile, keyFile }, credentials: readTlsCredentialsSync({ certFile, keyFile }) };
  } catch (err) {
    process.stderr.write(`hotdesk edge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
/** How often the TLS files are read again for a renewed certificate. */
const TLS_RELOAD_MS = 60_000;
// Buffered: a boot storm writes an access-log line per provisioning request.
const logger = createLogger('hotdesk-edge', { pool, namespace }, { buffered: true });

startEdge({
  kubeConfig: loadKubeConfig(),
  namespace,
  pool,
  host: env.HOTDESK_BIND_HOST ?? '0.0.0.0',
  // The address phones reach the edge on (the pool's edge.advertisedHost); the pod IP only as a
  // fallback, which serves phones inside the cluster alone.
  ...(env.HOTDESK_ADVERTISED_HOST || env.POD_IP ? { advertisedHost: env.HOTDESK_ADVERTISED_HOST || env.POD_IP } : {}),
  // The address an in-cluster PBX reaches this pod on (the pod IP); unset, the PBX sees advertisedHost too.
  ...(env.HOTDESK_PBX_FACING_HOST ? { pbxFacingHost: env.HOTDESK_PBX_FACING_HOST } : {}),
  ...(rtpPortRange ? { rtpPortRange, mediaRelayPort } : {}),
  sipPort: Number(env.HOTDESK_SIP_PORT ?? 5060),
  // Named in the flow tokens this replica writes, so another replica can reach it inside the cluster.
  ...(env.POD_IP ? { replicaAddress: `${env.POD_IP.includes(":") ? `[${env.POD_IP}]` : env.POD_IP}:${Number(env.HOTDESK_SIP_PORT ?? 5060)}` } : {}),
  httpPort: Number(env.HOTDESK_HTTP_PORT ?? 8080),
  metricsPort: Number(env.HOTDESK_METRICS_PORT ?? 9090),
  ...(provisioningWorkers !== undefined ? { provisioningWorkers } : {}),
  ...(natKeepaliveSeconds !== undefined ? { natKeepaliveSeconds } : {}),
  ...(tls ? { tls: { port: tls.port, ...tls.credentials } } : {}),
  logger,
}).then(
  (edge) => {
    // A parent process (tests, the demo) reads the bound ports from this line.
    process.stdout.write(`${JSON.stringify({ ready: true, sipPort: edge.sipPort, ...(edge.tlsPort !== undefined ? { tlsPort: edge.tlsPort } : {}), httpPort: edge.httpPort, metricsPort: edge.metricsPort })}\n`);
    const stopTlsReload = tls
      ? watchTlsCredentialFiles({
          files: tls.files,
          current: tls.credentials,
          intervalMs: TLS_RELOAD_MS,
          onRenewed: (credentials) => {
            edge.setTlsCredentials(credentials);
            logger.info({ certFile: tls.files.certFile }, 'TLS certificate renewed: new connections get the new one');
          },
          onProblem: (problem) => logger.warn({ err: problem.message }, 'TLS certificate files changed but cannot be used; keeping the current certificate'),
        })
      : () => undefined;
    const stop = (signal: string) => {
      stopTlsReload();
      logger.info({ signal }, 'shutting down');
      edge.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  },
  (err: unknown) => {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'edge failed to start');
    process.exit(1);
  },
);
