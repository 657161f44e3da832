import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, GROUP_VERSION, KINDS } from '../src/api/group.ts';
import { LABEL_POOL } from '../src/api/labels.ts';
import { forEachBounded, withRetry } from './lib/bounded.ts';

/**
 * The benchmark's fleet: one pool, `users` users each with a Secret, `devices` desk phones, and
 * `sessions` logins (session i puts user i on a device spread evenly over the fleet). Devices share
 * two Secrets keyed by device, as config/samples does: that is how a fleet of thousands is written.
 */
export interface FleetSize {
  devices: number;
  users: number;
  sessions: number;
}

export const POOL = 'bench-pool';
const IDLE_SECRET = 'hot-desk-idle-accounts';
const PROVISIONING_SECRET = 'hot-desk-provisioning';

export const deviceName = (i: number) => `desk-${String(i).padStart(5, '0')}`;
export const userName = (i: number) => `user-${String(i).padStart(5, '0')}`;
export const sessionName = (i: number) => `login-${String(i).padStart(5, '0')}`;
const idleAccount = (i: number) => `HD${String(i).padStart(5, '0')}`;
const extension = (i: number) => String(10000 + i);
const mac = (i: number) => `805ec0${i.toString(16).padStart(6, '0')}`;

/** The device session i logs in at: spread over the fleet so occupied desks are not all in one block. */
export function sessionDevice(i: number, size: FleetSize): number {
  return Math.floor((i * size.devices) / Math.max(1, size.sessions));
}

/** device name → the session that will occupy it, for every device (undefined: stays idle). */
export function expectedOccupancy(size: FleetSize): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (let d = 0; d < size.devices; d++) out.set(deviceName(d), undefined);
  for (let s = 0; s < size.sessions; s++) out.set(deviceName(sessionDevice(s, size)), sessionName(s));
  return out;
}

export function validateSize(size: FleetSize): void {
  if (size.sessions > size.users) throw new Error(`each session needs its own user: sessions (${size.sessions}) > users (${size.users})`);
  if (size.sessions > size.devices) throw new Error(`each session needs its own device: sessions (${size.sessions}) > devices (${size.devices})`);
}

const custom = (plural: string, namespace: string, body: object) => ({ group: API_GROUP, version: API_VERSION, namespace, plural, body });

function poolBody(ns: string) {
  return {
    apiVersion: GROUP_VERSION,
    kind: KINDS.pool.kind,
    metadata: { name: POOL, namespace: ns },
    spec: {
      pbx: { host: `pbx.${ns}.example`, domain: `${ns}.example` },
      featureCodes: { preset: '3cx' },
      emergency: { numbers: ['911', '112'] },
      sessionPolicy: { loggedInElsewhere: 'kick' },
      edge: { advertisedHost: `edge.${ns}.example` },
    },
  };
}

function userBodies(ns: string, i: number) {
  const name = userName(i);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${name}-sip`, namespace: ns, labels: { [LABEL_POOL]: POOL } },
    stringData: { password: `bench-only-${name}`, pin: String(1000 + (i % 9000)) },
  };
  const user = {
    apiVersion: GROUP_VERSION,
    kind: KINDS.user.kind,
    metadata: { name, namespace: ns },
    spec: {
      pool: POOL,
      extension: extension(i),
      displayName: `User ${extension(i)}`,
      secretRef: { name: `${name}-sip` },
      keys: [
        { type: 'blf', value: extension(i + 1), label: 'Colleague' },
        { type: 'speeddial', value: '200', label: 'Reception' },
      ],
    },
  };
  return { secret, user };
}

function deviceBody(ns: string, i: number) {
  const name = deviceName(i);
  return {
    apiVersion: GROUP_VERSION,
    kind: KINDS.device.kind,
    metadata: { name, namespace: ns },
    spec: {
      mac: mac(i),
      vendor: 'yealink',
      model: 'T54W',
      pool: POOL,
      location: `Floor ${1 + (i % 20)}, desk ${name}`,
      idleIdentity: { username: idleAccount(i), displayName: `Hot desk ${name}`, secretRef: { name: IDLE_SECRET, passwordKey: idleAccount(i) } },
      provisioningAuth: { secretRef: { name: PROVISIONING_SECRET, passwordKey: name } },
    },
  };
}

function sessionBody(ns: string, i: number, size: FleetSize) {
  return {
    apiVersion: GROUP_VERSION,
    kind: KINDS.session.kind,
    metadata: { name: sessionName(i), namespace: ns, labels: { [LABEL_POOL]: POOL } },
    spec: { device: deviceName(sessionDevice(i, size)), user: userName(i), origin: 'admin' },
  };
}

function sharedDeviceSecrets(ns: string, devices: number) {
  const idle: Record<string, string> = {};
  const prov: Record<string, string> = {};
  for (let i = 0; i < devices; i++) {
    idle[idleAccount(i)] = `bench-only-idle-${i}`;
    prov[deviceName(i)] = `bench-only-prov-${i}`;
  }
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: IDLE_SECRET, namespace: ns, labels: { [LABEL_POOL]: POOL } }, stringData: idle },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: PROVISIONING_SECRET, namespace: ns, labels: { [LABEL_POOL]: POOL } }, stringData: prov },
  ];
}

export interface CreateStats {
  creates: number;
  /** Milliseconds from the first create to the last create's answer. */
  durationMs: number;
  /** uid of every device, by name (the raw baseline's ConfigMaps carry owner references). */
  deviceUids: Map<string, string>;
}

/**
 * Creates the fleet in order: pool, user Secrets and users, device Secrets and devices, then
 * sessions; each step with at most `concurrency` requests in flight. The namespace must exist.
 */
export async function createFleet(kc: KubeConfig, ns: string, size: FleetSize, concurrency: number, onFirstCreate?: () => void): Promise<CreateStats> {
  const core = kc.makeApiClient(CoreV1Api);
  const crs = kc.makeApiClient(CustomObjectsApi);
  const started = performance.now();
  onFirstCreate?.();
  let creates = 0;
  const deviceUids = new Map<string, string>();
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.pool.plural, ns, poolBody(ns))));
  creates++;
  await forEachBounded(range(size.users), concurrency, async (i) => {
    const { secret, user } = userBodies(ns, i);
    await withRetry(() => core.createNamespacedSecret({ namespace: ns, body: secret }));
    await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.user.plural, ns, user)));
    creates += 2;
  });
  for (const secret of sharedDeviceSecrets(ns, size.devices)) {
    await withRetry(() => core.createNamespacedSecret({ namespace: ns, body: secret }));
    creates++;
  }
  await forEachBounded(range(size.devices), concurrency, async (i) => {
    const created = await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.device.plural, ns, deviceBody(ns, i)))) as { metadata: { name: string; uid: string } };
    deviceUids.set(created.metadata.name, created.metadata.uid);
    creates++;
  });
  await forEachBounded(range(size.sessions), concurrency, async (i) => {
    await withRetry(() => crs.createNamespacedCustomObject(custom(KINDS.session.plural, ns, sessionBody(ns, i, size))));
    creates++;
  });
  return { creates, durationMs: performance.now() - started, deviceUids };
}

export async function createNamespace(kc: KubeConfig, ns: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
}
