/** Objects as the API server returns them (defaults filled in), for the reconcilers' pure parts. */
import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../../src/api/index.ts';
import type { KubeObject } from '../../src/runtime/index.ts';

const CREATED = '2025-01-01T10:00:00Z' as unknown as Date;

export function poolObject(name = 'office', spec: Partial<HotDeskPool['spec']> = {}, status?: HotDeskPool['status']): HotDeskPool & KubeObject {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskPool',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, creationTimestamp: CREATED },
    spec: {
      pbx: { host: 'pbx.example.com', port: 5060, transport: 'udp' },
      featureCodes: { preset: '3cx' },
      emergency: { numbers: ['911', '112'], callerIdHeader: 'P-Emergency-Info' },
      sessionPolicy: { loggedInElsewhere: 'kick', timeZone: 'UTC', retention: '24h' },
      pinPolicy: { minLength: 4, maxLength: 8, maxAttempts: 3, lockoutDuration: '15m' },
      edge: { replicas: 1, serviceType: 'ClusterIP', sipPort: 5060, httpPort: 8080, metricsPort: 9090, provisioningWorkers: 2, rtpPorts: { first: 20000, count: 32 } },
      keyPolicy: 'shift',
      ...spec,
    },
    ...(status ? { status } : {}),
  } as HotDeskPool & KubeObject;
}

export function deviceObject(name = 'desk-1', status?: HotDeskDevice['status'], spec: Partial<HotDeskDevice['spec']> = {}): HotDeskDevice & KubeObject {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskDevice',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, creationTimestamp: CREATED, resourceVersion: '1' },
    spec: {
      mac: '805ec0a1b2c3',
      vendor: 'yealink',
      model: 'T54W',
      pool: 'office',
      idleIdentity: { username: 'HD0001', secretRef: { name: 'idle', passwordKey: 'password' } },
      ...spec,
    },
    ...(status ? { status } : {}),
  } as HotDeskDevice & KubeObject;
}

export function userObject(name = 'alice', extension = '101', status?: HotDeskUser['status']): HotDeskUser & KubeObject {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskUser',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, creationTimestamp: CREATED },
    spec: { pool: 'office', extension, displayName: `User ${extension}`, secretRef: { name: `${name}-sip`, passwordKey: 'password', pinKey: 'pin', pinHashKey: 'pinHash' }, hotDeskingEnabled: true },
    ...(status ? { status } : {}),
  } as HotDeskUser & KubeObject;
}

export function activeSession(name: string, device: string, user: string): HotDeskSession & KubeObject {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskSession',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, creationTimestamp: CREATED },
    spec: { device, user, origin: 'admin' },
    status: { phase: 'Active' },
  } as HotDeskSession & KubeObject;
}

export const base64 = (s: string) => Buffer.from(s).toString('base64');
