import { createHash } from 'node:crypto';
import { API_GROUP, KINDS } from '../api/group.ts';
import type { HotDeskPool } from '../api/index.ts';
import { edgeName, LABEL_MANAGED_BY, LABEL_POOL, MANAGED_BY, ANNOTATION_CONFIG_CHECKSUM } from '../api/labels.ts';
import { DEFAULT_MEDIA_RELAY_PORT } from '../edge/media-relay-datagram.ts';

export const EDGE_APP_LABEL = 'hotdesk-edge';

export interface EdgeObjectsInput {
  pool: HotDeskPool;
  /** Image to run when the pool names none. */
  defaultImage: string;
  /** Secrets the pool's users and devices name and that opted in to the pool: the only ones the edge may read. */
  secretNames: readonly string[];
  /**
   * Whether the Secret spec.edge.tls names opted in to the pool. A mounted Secret bypasses the
   * edge's Role, so only then does the pod mount it and listen for TLS.
   */
  tlsSecretAllowed?: boolean;
}

function labels(pool: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': EDGE_APP_LABEL,
    'app.kubernetes.io/component': 'edge',
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_POOL]: pool,
  };
}

/** A change of anything the edge reads from its pool's spec rolls its pods. */
export function configChecksum(pool: HotDeskPool): string {
  return createHash('sha256').update(JSON.stringify(pool.spec)).digest('hex').slice(0, 16);
}

/**
 * The edge's permissions: read its pool's objects, the rendered files, and only the Secrets its
 * users and devices name that are labelled for its pool (src/policy/secret-opt-in.ts); create
 * sessions at login and mark them at logout; report registrations, re-syncs and PIN lockouts in
 * status. ConfigMaps are readable namespace-wide because an informer lists by label and RBAC cannot
 * narrow by label; they never carry secrets (see placeholders). Sessions, devices' and users'
 * status are namespace-wide here too: the edge admission policies (config/policy/) narrow them to
 * the pool, keyed on this Role's ServiceAccount and its pool label. EndpointSlices tell a replica
 * which other replicas of its pool are ready (src/edge/replica-peers.ts): the only addresses it passes
 * a phone's request to. They are read namespace-wide because the informer lists them by the
 * service-name label, which RBAC cannot narrow; they hold pod IPs and ports, nothing secret.
 */
export function edgeRoleRules(secretNames: readonly string[]): object[] {
  const rules: object[] = [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [API_GROUP], resources: [KINDS.session.plural], verbs: ['create', 'delete', 'get', 'list', 'watch', 'patch'] },
    { apiGroups: [API_GROUP], resources: [KINDS.device.plural, KINDS.user.plural, KINDS.pool.plural], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [API_GROUP], resources: [`${KINDS.device.plural}/status`, `${KINDS.user.plural}/status`, `${KINDS.session.plural}/status`], verbs: ['patch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ];
  if (secretNames.length > 0) rules.push({ apiGroups: [''], resources: ['secrets'], resourceNames: [...secretNames].sort(), verbs: ['get'] });
  return rules;
}

/** The RTP ports of a pool's IVR: `count` even ports from `first` (RTCP is not used). */
export function rtpPorts(range: { first: number; count: number }): number[] {
  return Array.from({ length: range.count }, (_, i) => range.first + 2 * i);
}

/**
 * What the edge advertises: the address phones reach it on (Via, Record-Route, Contact, the IVR's
 * SDP), the one an in-cluster PBX reaches it on, and the RTP ports the Service exposes. Without advertisedHost the edge falls back to its
 * pod IP, which only phones inside the cluster can reach.
 */
export function edgeNetworkEnv(pool: HotDeskPool): Array<{ name: string; value: string }> {
  const edge = pool.spec.edge;
  const ports = rtpPorts(edge.rtpPorts);
  return [
    ...(edge.advertisedHost ? [{ name: 'HOTDESK_ADVERTISED_HOST', value: edge.advertisedHost }] : []),
    // An in-cluster PBX reaches the pod itself; $(POD_IP) expands to the POD_IP variable set before this list.
    ...(pool.spec.pbx.location === 'InCluster' ? [{ name: 'HOTDESK_PBX_FACING_HOST', value: '$(POD_IP)' }] : []),
    { name: 'HOTDESK_RTP_PORTS', value: `${ports[0]}-${ports[ports.length - 1]}` },
    ...(edge.natKeepaliveSeconds !== undefined ? [{ name: 'HOTDESK_NAT_KEEPALIVE_SECONDS', value: String(edge.natKeepaliveSeconds) }] : []),
  ];
}

/** Where the edge container finds the pool's TLS certificate (the Secret's keys, as kubelet writes them). */
export const SIP_TLS_MOUNT_PATH = '/etc/hotdesk/sip-tls';
const SIP_TLS_VOLUME = 'sip-tls';

function sipTlsEnv(tls: NonNullable<HotDeskPool['spec']['edge']['tls']>): Array<{ name: string; value: string }> {
  return [
    { name: 'HOTDESK_SIP_TLS_PORT', value: String(tls.port) },
    { name: 'HOTDESK_SIP_TLS_CERT_FILE', value: `${SIP_TLS_MOUNT_PATH}/tls.crt` },
    { name: 'HOTDESK_SIP_TLS_KEY_FILE', value: `${SIP_TLS_MOUNT_PATH}/tls.key` },
  ];
}

/**
 * The pool's TLS Secret as a volume. Mounted whole, not by subPath: kubelet then swaps in a renewed
 * certificate, which the edge picks up without a restart. The key stays in the pod: no ConfigMap,
 * env or API read of the edge carries it.
 */
function sipTlsVolume(tls: NonNullable<HotDeskPool['spec']['edge']['tls']>): { volumes: object[]; volumeMounts: object[] } {
  return {
    volumes: [{ name: SIP_TLS_VOLUME, secret: { secretName: tls.secretName, items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } }],
    volumeMounts: [{ name: SIP_TLS_VOLUME, mountPath: SIP_TLS_MOUNT_PATH, readOnly: true }],
  };
}

/**
 * The edge Service's ports. The edge writes its own port into Via, Record-Route and Contact, and
 * the IVR's RTP ports into its SDP, so a phone must reach each one on the same number. A
 * LoadBalancer or ClusterIP Service keeps the numbers; a NodePort Service would answer on ports the
 * API server picks, so there each port phones use is pinned as its own node port. The pool's ports
 * must then lie in the cluster's node-port range (30000-32767 unless the API server's
 * --service-node-port-range says otherwise); the API server refuses others, and the pool's Ready
 * condition and a Warning Event carry its message. Metrics are not for phones: their node port
 * stays the API server's choice.
 */
export function servicePorts(serviceType: string, ports: ReadonlyArray<{ name: string; containerPort: number; protocol: string }>): object[] {
  return ports.map((p) => ({
    name: p.name,
    port: p.containerPort,
    targetPort: p.name,
    protocol: p.protocol,
    ...(serviceType === 'NodePort' && p.name !== 'metrics' ? { nodePort: p.containerPort } : {}),
  }));
}

/**
 * The UDP port edge replicas relay the login IVR's RTP to each other on (src/edge/media-relay.ts):
 * pod IP to pod IP, so a container port and never a Service port. The default, unless the pool's
 * own ports use it; then the next free one, the same for every replica of the pool.
 */
export function mediaRelayPort(poolPorts: ReadonlyArray<{ containerPort: number }>): { env: { name: string; value: string }; port: { name: string; containerPort: number; protocol: string } } {
  let port = DEFAULT_MEDIA_RELAY_PORT;
  while (poolPorts.some((p) => p.containerPort === port)) port++;
  return { env: { name: 'HOTDESK_MEDIA_RELAY_PORT', value: String(port) }, port: { name: 'media-relay', containerPort: port, protocol: 'UDP' } };
}

export function edgeObjects(input: EdgeObjectsInput): { serviceAccount: object; role: object; roleBinding: object; deployment: object; service: object } {
  const { pool } = input;
  const poolName = pool.metadata.name ?? '';
  const namespace = pool.metadata.namespace ?? 'default';
  const name = edgeName(poolName);
  const meta = { name, namespace, labels: labels(poolName) };
  const edge = pool.spec.edge;
  const tls = edge.tls && input.tlsSecretAllowed ? edge.tls : undefined;
  const ports = [
    { name: 'sip-udp', containerPort: edge.sipPort, protocol: 'UDP' },
    { name: 'sip-tcp', containerPort: edge.sipPort, protocol: 'TCP' },
    ...(tls ? [{ name: 'sip-tls', containerPort: tls.port, protocol: 'TCP' }] : []),
    { name: 'http', containerPort: edge.httpPort, protocol: 'TCP' },
    { name: 'metrics', containerPort: edge.metricsPort, protocol: 'TCP' },
    ...rtpPorts(edge.rtpPorts).map((port) => ({ name: `rtp-${port}`, containerPort: port, protocol: 'UDP' })),
  ];
  const tlsVolume = tls ? sipTlsVolume(tls) : undefined;
  const relay = mediaRelayPort(ports);
  const resources = edge.resources ? { ...(edge.resources.requests ? { requests: edge.resources.requests } : {}), ...(edge.resources.limits ? { limits: edge.resources.limits } : {}) } : undefined;
  return {
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta, rules: edgeRoleRules(input.secretNames) },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: edge.replicas,
        selector: { matchLabels: { 'app.kubernetes.io/name': EDGE_APP_LABEL, [LABEL_POOL]: poolName } },
        template: {
          metadata: { labels: labels(poolName), annotations: { [ANNOTATION_CONFIG_CHECKSUM]: configChecksum(pool) } },
          spec: {
            serviceAccountName: name,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            ...(tlsVolume ? { volumes: tlsVolume.volumes } : {}),
            containers: [{
              name: 'edge',
              image: edge.image ?? input.defaultImage,
              args: ['src/cmd/edge.ts'],
              env: [
                { name: 'HOTDESK_POOL', value: poolName },
                { name: 'HOTDESK_NAMESPACE', value: namespace },
                { name: 'HOTDESK_SIP_PORT', value: String(edge.sipPort) },
                { name: 'HOTDESK_HTTP_PORT', value: String(edge.httpPort) },
                { name: 'HOTDESK_METRICS_PORT', value: String(edge.metricsPort) },
                { name: 'HOTDESK_PROVISIONING_WORKERS', value: String(edge.provisioningWorkers) },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                ...edgeNetworkEnv(pool),
                ...(tls ? sipTlsEnv(tls) : []),
                relay.env,
              ],
              ports: [...ports, relay.port],
              ...(tlsVolume ? { volumeMounts: tlsVolume.volumeMounts } : {}),
              ...(resources ? { resources } : {}),
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } },
              // The edge opens its probe port last, after loading prompts and syncing its caches:
              // on a busy node that took longer than liveness's defaults allow, and the kubelet
              // killed a starting edge. The startup probe gives it up to 2 minutes first.
              startupProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 60 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            }],
          },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        type: edge.serviceType,
        // A phone's Digest challenge and its answer, and its SIP dialogs, stay with one edge pod:
        // each pod has its own nonce key and its own transaction state.
        sessionAffinity: 'ClientIP',
        // Through a node port or a load balancer, kube-proxy would otherwise replace the phone's
        // address with a node's: the edge's flows, per-source limits and NAT traversal need the
        // phone's (its NAT's) real address, and ClientIP affinity needs it to tell phones apart.
        ...(edge.serviceType === 'NodePort' || edge.serviceType === 'LoadBalancer' ? { externalTrafficPolicy: 'Local' } : {}),
        selector: { 'app.kubernetes.io/name': EDGE_APP_LABEL, [LABEL_POOL]: poolName },
        ports: servicePorts(edge.serviceType, ports),
      },
    },
  };
}
