/** Manifests for an end-to-end pool whose PBX is the test's Kamailio on loopback. */
export interface E2ePoolOptions {
  pbxPort: number;
  maxAttempts?: number;
  lockoutDuration?: string;
  /** The PBX's address (default 127.0.0.1), also the SIP domain. */
  pbxHost?: string;
  /** pbx.phoneRouting; unset: the default. */
  phoneRouting?: 'contact' | 'path';
}

export function namespaceYaml(ns: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`;
}

export function poolYaml(ns: string, name: string, o: E2ePoolOptions): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: ${name}, namespace: ${ns}}
spec:
  pbx: {host: ${o.pbxHost ?? '127.0.0.1'}, port: ${o.pbxPort}, transport: udp, domain: ${o.pbxHost ?? '127.0.0.1'}${o.phoneRouting ? `, phoneRouting: ${o.phoneRouting}` : ''}}
  featureCodes: {preset: 3cx}
  emergency: {numbers: ["911", "112"], callerIdHeader: P-Emergency-Info}
  sessionPolicy: {loggedInElsewhere: kick}
  pinPolicy: {minLength: 4, maxLength: 8, maxAttempts: ${o.maxAttempts ?? 3}, lockoutDuration: ${o.lockoutDuration ?? '15m'}}
  edge: {advertisedHost: 127.0.0.1}
`;
}

export function userYaml(ns: string, name: string, pool: string, ext: string, password: string, pin: string): string {
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}-sip, namespace: ${ns}, labels: {hotdesk.io/pool: ${pool}}}
stringData: {password: "${password}", pin: "${pin}"}
---
apiVersion: hotdesk.io/v1alpha1
kind: HotDeskUser
metadata: {name: ${name}, namespace: ${ns}}
spec:
  pool: ${pool}
  extension: "${ext}"
  displayName: User ${ext}
  secretRef: {name: ${name}-sip}
`;
}

export function deviceYaml(ns: string, name: string, pool: string, mac: string, idleUser: string, idlePassword: string, location: string): string {
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}-idle, namespace: ${ns}, labels: {hotdesk.io/pool: ${pool}}}
stringData: {password: "${idlePassword}", provisioningPassword: "prov-${idlePassword}"}
---
apiVersion: hotdesk.io/v1alpha1
kind: HotDeskDevice
metadata: {name: ${name}, namespace: ${ns}}
spec:
  mac: ${mac}
  vendor: yealink
  model: T54W
  pool: ${pool}
  location: ${location}
  idleIdentity: {username: ${idleUser}, displayName: Hot desk ${name}, secretRef: {name: ${name}-idle}}
  provisioningAuth: {secretRef: {name: ${name}-idle}}
`;
}

export function sessionYaml(ns: string, name: string, device: string, user: string): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskSession
metadata: {name: ${name}, namespace: ${ns}}
spec: {device: ${device}, user: ${user}, origin: admin}
`;
}
