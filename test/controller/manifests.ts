/** Manifests as a user would write them, for a pool in its own namespace. */
export interface PoolOptions {
  policy?: 'kick' | 'refuse' | 'allow';
  maxDuration?: string;
  idleTimeout?: string;
  retention?: string;
}

export function namespaceYaml(ns: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`;
}

export function poolYaml(ns: string, name: string, o: PoolOptions = {}): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: ${name}, namespace: ${ns}}
spec:
  pbx: {host: pbx.${ns}.example, domain: ${ns}.example}
  featureCodes: {preset: 3cx}
  emergency: {numbers: ["911", "112"]}
  sessionPolicy:
    loggedInElsewhere: ${o.policy ?? 'kick'}
${o.maxDuration ? `    maxDuration: ${o.maxDuration}\n` : ''}${o.idleTimeout ? `    idleTimeout: ${o.idleTimeout}\n` : ''}${o.retention ? `    retention: ${o.retention}\n` : ''}  edge: {advertisedHost: edge.${ns}.example}
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
  keys:
    - {type: blf, value: "2${ext}", label: Colleague}
    - {type: speeddial, value: "200", label: Reception}
`;
}

export function deviceYaml(ns: string, name: string, pool: string, mac: string, idleUser: string, idlePassword: string, vendor = 'yealink', model = 'T54W'): string {
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
  vendor: ${vendor}
  model: ${model}
  pool: ${pool}
  location: Floor 3 desk ${name}
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
