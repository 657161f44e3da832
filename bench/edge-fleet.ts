import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, GROUP_VERSION, KINDS } from '../src/api/group.ts';
import { LABEL_POOL } from '../src/api/labels.ts';
import { forEachBounded, withRetry } from './lib/bounded.ts';

/**
 * The edge benchmarks' pool: a PBX address the benchmark runs (SIPp or a Node stand-in), `devices`
 * idle desk phones and `users` hot-desk users. Device credentials live in two shared Secrets keyed
 * by device, as config/samples writes a fleet of thousands; each user has a Secret of its own.
 */
export const EDGE_POOL = 'edge-bench';
const IDLE_SECRET = 'edge-bench-idle-accounts';
const PROVISIONING_SECRET = 'edge-bench-provisioning';
export const PIN_LENGTH = 4;

export const benchDevice = (i: number) => `desk-${String(i).padStart(5, '0')}`;
export const benchIdleAccount = (i: number) => `HD${String(i).padStart(5, '0')}`;
export const benchMac = (i: number) => `805ec1${i.toString(16).padStart(6, '0')}`;
export const benchUser = (i: number) => `user-${String(i).padStart(4, '0')}`;
export const benchExtension = (i: number) => String(2000 + i);
export const benchPin = (i: number) => String(1000 + ((i * 7919) % 9000)).slice(0, PIN_LENGTH);
export const idlePassword = (i: number) => `bench-only-idle-${i}`;
export const provisioningPassword = (i: number) => `bench-only-prov-${i}`;
export const userPassword = (i: number) => `bench-only-user-${i}`;

const custom = (plural: string, namespace: string, body: object) => ({ group: API_GROUP, version: API_VERSION, namespace, plural, body });

export async function createPool(kc: KubeConfig, ns: string, pbx: { host: string; port: number; phoneRouting?: 'contact' | 'path' }): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject(custom(KINDS.pool.plural, ns, {
    apiVersion: GROUP_VERSION,
    kind: KINDS.pool.kind,
    metadata: { name: EDGE_POOL, namespace: ns },
    spec: {
      pbx: { host: pbx.host, port: pbx.port, transport: 'udp', domain: 'bench.example', ...(pbx.phoneRouting ? { phoneRouting: pbx.phoneRouting } : {}) },
      featureCodes: { preset: '3cx' },
      emergency: { numbers: ['911', '112'] },
      sessionPolicy: { loggedInElsewhere: 'kick' },
      // A PIN of exactly this length ends the entry at its last digit, without a # or a timeout.
      pinPolicy: { minLength: PIN_LENGTH, maxLength: PIN_LENGTH, maxAttempts: 10 },
      edge: { advertisedHost: '127.0.0.1' },
    },
  }));
}

/** Creates users, then the device Secrets and devices, `concurrency` requests at a time. */
export async function createFleet(kc: KubeConfig, ns: string, size: { devices: number; users: number }, concurrency = 32): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const crs = kc.makeApiClient(CustomObjectsApi);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  await forEachBounded(range(size.users), concurrency, async (i) => {
    const name = benchUser(i);
    await withRetry(() => core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `${name}-sip`, labels: { [LABEL_POOL]: EDGE_POOL } }, stringData: { password: userPassword(i), pin: benchPin(i) } } }));
    await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.user.plural, ns, {
      apiVersion: GROUP_VERSION,
      kind: KINDS.user.kind,
      metadata: { name, namespace: ns },
      spec: { pool: EDGE_POOL, extension: benchExtension(i), displayName: `User ${benchExtension(i)}`, secretRef: { name: `${name}-sip` }, keys: [{ type: 'blf', value: benchExtension(i + 1), label: 'Colleague' }] },
    })));
  });
  const idle: Record<string, string> = {};
  const prov: Record<string, string> = {};
  for (let i = 0; i < size.devices; i++) {
    idle[benchIdleAccount(i)] = idlePassword(i);
    prov[benchDevice(i)] = provisioningPassword(i);
  }
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: IDLE_SECRET, labels: { [LABEL_POOL]: EDGE_POOL } }, stringData: idle } });
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: PROVISIONING_SECRET, labels: { [LABEL_POOL]: EDGE_POOL } }, stringData: prov } });
  await forEachBounded(range(size.devices), concurrency, async (i) => {
    const name = benchDevice(i);
    await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.device.plural, ns, {
      apiVersion: GROUP_VERSION,
      kind: KINDS.device.kind,
      metadata: { name, namespace: ns },
      spec: {
        mac: benchMac(i),
        vendor: 'yealink',
        model: 'T54W',
        pool: EDGE_POOL,
        location: `Floor ${1 + (i % 20)}, desk ${name}`,
        idleIdentity: { username: benchIdleAccount(i), displayName: `Hot desk ${name}`, secretRef: { name: IDLE_SECRET, passwordKey: benchIdleAccount(i) } },
        provisioningAuth: { secretRef: { name: PROVISIONING_SECRET, passwordKey: name } },
      },
    })));
  });
}

/** Polls until `count` provisioning ConfigMaps of the pool exist (the controller rendered them). */
export async function waitForConfigMaps(kc: KubeConfig, ns: string, count: number, timeoutMs: number, onProgress?: (n: number) => void): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: `${LABEL_POOL}=${EDGE_POOL}` });
    onProgress?.(list.items.length);
    if (list.items.length >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${list.items.length} of ${count} provisioning ConfigMaps after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}
