/**
 * What reaches the edge about its network: the advertised address and the RTP ports, in the
 * Deployment's env and as Service ports; and the pool's rtpPorts bounds, checked by the real API
 * server, which must also accept the Service with every RTP port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { edgeNetworkEnv, edgeObjects, rtpPorts } from '../../src/controller/edge-objects.ts';
import type { HotDeskPool } from '../../src/api/index.ts';

function poolWith(edge: Record<string, unknown>, pbx: Record<string, unknown> = {}): HotDeskPool {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskPool',
    metadata: { name: 'office', namespace: 'net' },
    spec: {
      pbx: { host: 'pbx.example.com', port: 5060, transport: 'udp', ...pbx },
      emergency: { numbers: ['911'] },
      edge: { replicas: 1, serviceType: 'LoadBalancer', sipPort: 5060, httpPort: 8080, metricsPort: 9090, provisioningWorkers: 2, rtpPorts: { first: 20000, count: 32 }, ...edge },
    },
  } as unknown as HotDeskPool;
}

const envCases: Array<{ name: string; edge: Record<string, unknown>; pbx?: Record<string, unknown>; env: Record<string, string> }> = [
  { name: 'defaults: no advertised host (pod IP fallback), 32 even ports from 20000', edge: {}, env: { HOTDESK_RTP_PORTS: '20000-20062' } },
  { name: 'an advertised host reaches the edge', edge: { advertisedHost: 'sip.office.example.com' }, env: { HOTDESK_ADVERTISED_HOST: 'sip.office.example.com', HOTDESK_RTP_PORTS: '20000-20062' } },
  { name: 'one RTP port', edge: { rtpPorts: { first: 30000, count: 1 } }, env: { HOTDESK_RTP_PORTS: '30000-30000' } },
  { name: 'an external PBX sees the advertised host too', edge: { advertisedHost: 'sip.office.example.com' }, pbx: { location: 'External' }, env: { HOTDESK_ADVERTISED_HOST: 'sip.office.example.com', HOTDESK_RTP_PORTS: '20000-20062' } },
  { name: 'NAT keep-alives every 25 s', edge: { natKeepaliveSeconds: 25 }, env: { HOTDESK_RTP_PORTS: '20000-20062', HOTDESK_NAT_KEEPALIVE_SECONDS: '25' } },
  { name: 'NAT keep-alives off', edge: { natKeepaliveSeconds: 0 }, env: { HOTDESK_RTP_PORTS: '20000-20062', HOTDESK_NAT_KEEPALIVE_SECONDS: '0' } },
  {
    name: 'an in-cluster PBX reaches the pod IP',
    edge: { advertisedHost: 'sip.office.example.com' },
    pbx: { location: 'InCluster' },
    env: { HOTDESK_ADVERTISED_HOST: 'sip.office.example.com', HOTDESK_PBX_FACING_HOST: '$(POD_IP)', HOTDESK_RTP_PORTS: '20000-20062' },
  },
];

for (const c of envCases) {
  test(`edge network env: ${c.name}`, () => {
    assert.deepEqual(Object.fromEntries(edgeNetworkEnv(poolWith(c.edge, c.pbx)).map((e) => [e.name, e.value])), c.env);
  });
}

test('rtpPorts lists count even ports from first', () => {
  assert.deepEqual(rtpPorts({ first: 20000, count: 4 }), [20000, 20002, 20004, 20006]);
  assert.deepEqual(rtpPorts({ first: 40000, count: 1 }), [40000]);
});

test('the Deployment carries the network env and the Service every RTP port as UDP', () => {
  const objects = edgeObjects({ pool: poolWith({ advertisedHost: '203.0.113.5' }), defaultImage: 'img', secretNames: [] }) as any;
  const env = objects.deployment.spec.template.spec.containers[0].env;
  assert.ok(env.some((e: any) => e.name === 'HOTDESK_ADVERTISED_HOST' && e.value === '203.0.113.5'));
  assert.ok(env.some((e: any) => e.name === 'POD_IP'), 'the pod IP stays available as the fallback');
  const inCluster = (edgeObjects({ pool: poolWith({}, { location: 'InCluster' }), defaultImage: 'img', secretNames: [] }) as any).deployment.spec.template.spec.containers[0].env;
  const names = inCluster.map((e: any) => e.name);
  // Kubernetes expands $(POD_IP) only from a variable defined earlier in the list.
  assert.ok(names.indexOf('POD_IP') >= 0 && names.indexOf('POD_IP') < names.indexOf('HOTDESK_PBX_FACING_HOST'), names.join(','));
  const rtp = objects.service.spec.ports.filter((p: any) => p.name.startsWith('rtp-'));
  assert.equal(rtp.length, 32);
  assert.ok(rtp.every((p: any) => p.protocol === 'UDP' && p.port === Number(p.name.slice(4)) && p.targetPort === p.name));
});

test('a NodePort Service answers on the node at the ports the edge advertises; metrics keep an allocated node port', () => {
  const service = (edgeObjects({ pool: poolWith({ serviceType: 'NodePort', sipPort: 30060, httpPort: 30080, metricsPort: 9090, rtpPorts: { first: 30100, count: 2 } }), defaultImage: 'img', secretNames: [] }) as any).service;
  assert.equal(service.spec.type, 'NodePort');
  assert.deepEqual(service.spec.ports.map((p: any) => [p.name, p.protocol, p.port, p.nodePort]), [
    ['sip-udp', 'UDP', 30060, 30060],
    ['sip-tcp', 'TCP', 30060, 30060],
    ['http', 'TCP', 30080, 30080],
    ['metrics', 'TCP', 9090, undefined],
    ['rtp-30100', 'UDP', 30100, 30100],
    ['rtp-30102', 'UDP', 30102, 30102],
  ]);
});

const relayCases: Array<{ name: string; edge: Record<string, unknown>; tlsSecretAllowed?: boolean; port: number }> = [
  { name: 'the default port', edge: {}, port: 5070 },
  { name: "the next port when the pool's SIP port is the default", edge: { sipPort: 5070 }, port: 5071 },
  { name: 'past every port the pool uses', edge: { sipPort: 5070, httpPort: 5071, metricsPort: 5072 }, port: 5073 },
  { name: 'past the RTP ports', edge: { rtpPorts: { first: 5068, count: 2 } }, port: 5071 },
  { name: 'past the TLS port', edge: { tls: { secretName: 'sip-tls', port: 5070 } }, tlsSecretAllowed: true, port: 5071 },
];

for (const c of relayCases) {
  test(`the replicas' media relay port is a UDP container port and in the env, never a Service port: ${c.name}`, () => {
    const objects = edgeObjects({ pool: poolWith(c.edge), defaultImage: 'img', secretNames: [], ...(c.tlsSecretAllowed ? { tlsSecretAllowed: true } : {}) }) as any;
    const container = objects.deployment.spec.template.spec.containers[0];
    assert.deepEqual(container.ports.filter((p: any) => p.name === 'media-relay'), [{ name: 'media-relay', containerPort: c.port, protocol: 'UDP' }]);
    assert.equal(container.env.find((e: any) => e.name === 'HOTDESK_MEDIA_RELAY_PORT')?.value, String(c.port));
    assert.equal(objects.service.spec.ports.some((p: any) => p.name === 'media-relay' || p.port === c.port), false, 'pods relay pod to pod, not through the Service');
  });
}

test('LoadBalancer and ClusterIP Services leave node ports to the API server', () => {
  for (const serviceType of ['LoadBalancer', 'ClusterIP']) {
    const service = (edgeObjects({ pool: poolWith({ serviceType }), defaultImage: 'img', secretNames: [] }) as any).service;
    assert.ok(service.spec.ports.every((p: any) => p.nodePort === undefined), serviceType);
  }
});

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
});
after(async () => {
  await cp?.stop();
});

function poolYaml(name: string, edge: string): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: ${name}}
spec:
  pbx: {host: pbx.example.com}
  emergency: {numbers: ["911"]}
  edge: ${edge}
`;
}

const validation: Array<{ name: string; edge: string; error?: RegExp }> = [
  { name: 'defaults', edge: '{}' },
  { name: 'a range of its own', edge: '{rtpPorts: {first: 30000, count: 8}}' },
  { name: 'odd first port', edge: '{rtpPorts: {first: 30001}}', error: /rtpPorts.first must be even/ },
  { name: 'past the last port', edge: '{rtpPorts: {first: 65500, count: 100}}', error: /must not pass 65534/ },
  { name: 'too many ports', edge: '{rtpPorts: {count: 500}}', error: /count/ },
  { name: 'the SIP port inside the range', edge: '{sipPort: 20010}', error: /sipPort must lie outside rtpPorts/ },
  { name: 'NAT keep-alives off', edge: '{natKeepaliveSeconds: 0}' },
  { name: 'NAT keep-alives too often', edge: '{natKeepaliveSeconds: 3}', error: /edge.natKeepaliveSeconds must be 0 \(off\) or at least 5 seconds/ },
  { name: 'NAT keep-alives rarer than hourly', edge: '{natKeepaliveSeconds: 7200}', error: /natKeepaliveSeconds/ },
];

let seq = 0;
for (const c of validation) {
  test(`the API server on edge.rtpPorts: ${c.name}`, async () => {
    const name = `net-${process.pid}-${++seq}`;
    const res = await cp.kubectl(['apply', '-f', '-'], { input: poolYaml(name, c.edge) });
    if (!c.error) {
      assert.equal(res.code, 0, res.stderr);
      const got = JSON.parse((await cp.kubectl(['get', 'hotdeskpool', name, '-o', 'json'])).stdout);
      assert.equal(got.spec.edge.rtpPorts.count, c.edge.includes('count: 8') ? 8 : 32, 'defaulted to 32 ports');
      return;
    }
    assert.notEqual(res.code, 0, `expected a refusal, got ${res.stdout}`);
    assert.match(res.stderr, c.error);
  });
}

test('the API server defaults pbx.location to External and edge.natKeepaliveSeconds to 25, and refuses an unknown location', async () => {
  const name = `net-${process.pid}-defaults`;
  const res = await cp.kubectl(['apply', '-f', '-'], { input: poolYaml(name, '{}') });
  assert.equal(res.code, 0, res.stderr);
  const got = JSON.parse((await cp.kubectl(['get', 'hotdeskpool', name, '-o', 'json'])).stdout);
  assert.equal(got.spec.pbx.location, 'External');
  assert.equal(got.spec.edge.natKeepaliveSeconds, 25);
  const bad = await cp.kubectl(['apply', '-f', '-'], { input: poolYaml(`${name}-bad`, '{}').replace('pbx: {host: pbx.example.com}', 'pbx: {host: pbx.example.com, location: Nearby}') });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /location/);
});

test('the API server accepts the edge Service with all 32 RTP ports', async () => {
  const objects = edgeObjects({ pool: poolWith({ serviceType: 'ClusterIP' }), defaultImage: 'img', secretNames: [] }) as any;
  const service = { ...objects.service, metadata: { ...objects.service.metadata, namespace: 'default' } };
  const res = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(service) });
  assert.equal(res.code, 0, res.stderr);
  const got = JSON.parse((await cp.kubectl(['get', 'service', service.metadata.name, '-o', 'json'])).stdout);
  assert.equal(got.spec.ports.filter((p: any) => p.protocol === 'UDP').length, 33, 'sip-udp and 32 RTP ports');
});

for (const [i, serviceType] of ['ClusterIP', 'NodePort', 'LoadBalancer'].entries()) {
  // Ports of their own in the node-port range, should a node port be pinned to each.
  const base = 31000 + 100 * i;
  test(`a ${serviceType} edge Service keeps the phones' source addresses where kube-proxy could replace them, and the API server accepts it`, async () => {
    const objects = edgeObjects({ pool: poolWith({ serviceType, sipPort: base + 60, httpPort: base + 80, rtpPorts: { first: base, count: 2 } }), defaultImage: 'img', secretNames: [] }) as any;
    assert.equal(objects.service.spec.sessionAffinity, 'ClientIP');
    assert.equal(objects.service.spec.externalTrafficPolicy, serviceType === 'ClusterIP' ? undefined : 'Local');
    const name = `traffic-${serviceType.toLowerCase()}-${process.pid}`;
    const service = { ...objects.service, metadata: { ...objects.service.metadata, name, namespace: 'default' } };
    const res = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(service) });
    assert.equal(res.code, 0, res.stderr);
    const got = JSON.parse((await cp.kubectl(['get', 'service', name, '-o', 'json'])).stdout);
    assert.equal(got.spec.externalTrafficPolicy, serviceType === 'ClusterIP' ? undefined : 'Local');
  });
}
