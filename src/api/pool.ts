import { conditionsField, observedGenerationField } from './conditions.ts';
import { customResourceDefinition, readyColumn, type KindDefinition, type Resource } from './crd.ts';
import {
  DIAL_CODE_MAX_LENGTH,
  DIAL_CODE_PATTERN,
  FEATURE_CODE_PRESET_NAMES,
  EMERGENCY_CLASH_RULES,
  FEATURE_CODE_RULES,
} from './feature-codes.ts';
import { duration, objectName, secretKey, timeOfDay, timeZone } from './fields.ts';
import { KINDS } from './group.ts';
import { celString, arr, bool, int, intOrString, map, obj, str, type Infer, type InferInput } from './schema.ts';

function dialCode(field: string, description: string) {
  return str({
    description: `${description} Digits, * and # only.`,
    maxLength: DIAL_CODE_MAX_LENGTH,
    minLength: 1,
    rules: [{ rule: `self.matches(${celString(DIAL_CODE_PATTERN)})`, message: `${field} may contain only digits, * and #, e.g. *77*` }],
  });
}

function port(description: string, defaultPort: number) {
  return int({ description, minimum: 1, maximum: 65535, default: defaultPort });
}

export const pbxSchema = obj({
  host: str({ description: 'Host name or IP address of the tenant PBX the edge proxies to.', minLength: 1, maxLength: 253 }),
  port: int({
    description: 'SIP port of the PBX. Unset, the edge finds the PBX in DNS (RFC 3263): the SRV records _sip._udp, _sip._tcp or _sips._tcp of pbx.host (by transport), tried in priority order with failover to the next on no answer or 503, else pbx.host\'s addresses on 5060 (5061 for tls).',
    minimum: 1,
    maximum: 65535,
  }),
  transport: str({ description: 'SIP transport towards the PBX: udp, tcp or tls.', enum: ['udp', 'tcp', 'tls'], default: 'udp' }),
  location: str({
    description: 'Where the PBX runs, so the edge tells it the address it can reach the edge on. External: outside the cluster, it reaches the edge on edge.advertisedHost as the phones do. InCluster: a pod in this cluster, it reaches the edge pod directly on the pod\'s IP, which the edge then writes into the Via and Record-Route the PBX sees (phones still see edge.advertisedHost).',
    enum: ['External', 'InCluster'],
    default: 'External',
  }),
  domain: str({ description: 'SIP domain (the host part of users\' addresses); defaults to pbx.host.', maxLength: 253 }),
  assertIdentity: bool({
    description: 'Add P-Asserted-Identity naming the account the edge proved (the occupant\'s extension, or the desk\'s idle account) to requests it attributed to a desk, for a PBX that trusts the edge as its proxy. Identity headers from phones are removed either way. Unset: false.',
  }),
  rewriteRequestUriHost: bool({
    description: 'Rewrite the host of the Request-URI of requests from phones to pbx.domain (without a port), for a PBX that refuses requests for a foreign domain. Unset: false, the Request-URI goes as the phone wrote it.',
  }),
  phoneRouting: str({
    description: 'How the PBX\'s requests (incoming calls, messages) reach a phone through the edge, on the connection the phone registered on. contact: the edge registers its own address with a token naming the phone\'s connection in place of the phone\'s Contact; works with every PBX, including those that ignore Path (3CX-like). path: the phone\'s Contact stays and the edge adds a Path header (RFC 3327); for a registrar that supports Path, e.g. Kamailio (registrar use_path) or Asterisk PJSIP (support_path). Default: contact.',
    enum: ['contact', 'path'],
    default: 'contact',
  }),
}, { description: 'The upstream PBX this pool\'s phones register to through the edge.', required: ['host'] });

export const featureCodesSchema = obj({
  preset: str({
    description: 'Codes users already know: 3cx (*77*EXT* login, *77*5* logout) or yeastar (*93 login, *093 logout); custom sets none. Fields below override the preset one by one.',
    enum: FEATURE_CODE_PRESET_NAMES,
    default: '3cx',
  }),
  login: dialCode('featureCodes.login', 'Plain login code: the IVR asks for the extension, then the PIN. Overrides the preset.'),
  logout: dialCode('featureCodes.logout', 'Logout code; the hot-desk logout key dials it too. Overrides the preset.'),
  loginWithExtension: obj({
    prefix: dialCode('featureCodes.loginWithExtension.prefix', 'Dialled before the extension, e.g. *77* for 3CX.'),
    suffix: str({
      description: 'Dialled after the extension, e.g. * for 3CX; may be empty. Digits, * and # only.',
      maxLength: DIAL_CODE_MAX_LENGTH,
      default: '',
      rules: [{ rule: "self == '' || self.matches('^[*#]+$')", message: 'featureCodes.loginWithExtension.suffix may contain only * and # (a digit would merge into the extension)' }],
    }),
  }, {
    description: 'Login with the extension in the code (prefix + extension + suffix, e.g. *77*101*); the IVR then asks only for the PIN. Overrides the preset.',
    required: ['prefix'],
  }),
}, {
  description: 'Feature codes the edge answers. No code may be a prefix of another, or the longer one could never be dialled; a code may begin with loginWithExtension.prefix only as a complete dial such as *77*5* (that extension is then reserved for it).',
  default: {},
  rules: FEATURE_CODE_RULES,
});

export const emergencySchema = obj({
  numbers: arr(str({
    description: 'An emergency number, digits only, e.g. 911 or 112.',
    minLength: 1,
    maxLength: 15,
    rules: [{ rule: "self.matches('^[0-9]+$')", message: 'emergency.numbers entries must be digits only, e.g. 911 or 112' }],
  }), {
    description: 'Numbers any phone of the pool may dial, logged in or not. Idle phones can dial nothing else.',
    minItems: 1,
    maxItems: 16,
    listType: 'set',
  }),
  callerIdHeader: str({
    description: 'SIP header carrying the desk\'s location label on emergency calls, so the call shows where the desk is, not who sat there last.',
    pattern: '^[A-Za-z0-9-]+$',
    maxLength: 64,
    default: 'P-Emergency-Info',
  }),
  callerId: str({
    description: 'Caller number presented on emergency calls from idle phones (e.g. the site\'s main number), so the emergency service can call back.',
    pattern: '^\\+?[0-9]+$',
    maxLength: 32,
  }),
}, { description: 'Emergency calling: which numbers always go through and how the caller\'s location is sent.', required: ['numbers'] });

export const sessionPolicySchema = obj({
  loggedInElsewhere: str({
    description: 'When a user logs in while logged in at another desk: kick ends the other session, refuse rejects the new login, allow keeps both.',
    enum: ['kick', 'refuse', 'allow'],
    default: 'kick',
  }),
  maxDuration: duration('sessionPolicy.maxDuration', { description: 'Sessions end after this long. Unset: no limit.' }),
  dailyLogoutTime: timeOfDay('sessionPolicy.dailyLogoutTime', 'Every session ends at this local time each day, so forgotten logins do not block desks. Unset: none.'),
  timeZone: timeZone('sessionPolicy.timeZone', 'Time zone of dailyLogoutTime.'),
  idleTimeout: duration('sessionPolicy.idleTimeout', { description: 'Sessions end after this long without calls. Unset: never.' }),
  retention: duration('sessionPolicy.retention', { description: 'Ended sessions are deleted this long after they end.', default: '24h' }),
}, { description: 'When sessions end on their own and what happens when a user logs in twice.', default: {} });

export const pinPolicySchema = obj({
  minLength: int({ description: 'Fewest digits a PIN may have.', minimum: 4, maximum: 12, default: 4 }),
  maxLength: int({ description: 'Most digits a PIN may have; at least minLength.', minimum: 4, maximum: 16, default: 8 }),
  maxAttempts: int({ description: 'Wrong PINs in a row before the user is locked out.', minimum: 1, maximum: 10, default: 3 }),
  lockoutDuration: duration('pinPolicy.lockoutDuration', { description: 'How long a locked-out user cannot log in.', default: '15m' }),
}, {
  description: 'PIN rules checked by the login IVR.',
  default: {},
  rules: [{
    rule: 'self.minLength <= self.maxLength',
    message: 'pinPolicy.minLength must not be greater than pinPolicy.maxLength: lower minLength or raise maxLength',
    fieldPath: '.minLength',
  }],
});

const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

function quantities(description: string) {
  return map(intOrString({ description: 'A quantity, e.g. 100m or 128Mi.', pattern: QUANTITY_PATTERN }), { description, maxProperties: 16 });
}

export const edgeSchema = obj({
  replicas: int({ description: 'Edge pods serving this pool; all state is in the API, so any number works. 0 stops the pool\'s edge.', minimum: 0, maximum: 20, default: 1 }),
  image: str({ description: 'Edge image; defaults to the operator\'s own image.', maxLength: 512 }),
  serviceType: str({
    description: 'Type of the Service phones reach the edge through. NodePort: each port phones use (sipPort, tls.port, httpPort, every rtpPorts port) is also its node port, since the edge advertises its own port numbers to phones; these ports must then lie in the cluster\'s node-port range (30000-32767 unless the API server is set otherwise), or the Service is refused and the pool\'s Ready condition says why.',
    enum: ['ClusterIP', 'NodePort', 'LoadBalancer'],
    default: 'ClusterIP',
  }),
  sipPort: port('SIP port (UDP and TCP) phones send to.', 5060),
  httpPort: port('HTTP port phones fetch their provisioning files from.', 8080),
  metricsPort: port('Port of the edge\'s /metrics.', 9090),
  provisioningWorkers: int({ description: 'Processes in each edge pod serving provisioning files, beside the one handling SIP, so a boot storm of phones uses several cores and does not delay logins. 0 serves them from the SIP process.', minimum: 0, maximum: 16, default: 2 }),
  resources: obj({
    requests: quantities('Minimum resources, e.g. cpu: 100m, memory: 128Mi.'),
    limits: quantities('Maximum resources, e.g. memory: 256Mi.'),
  }, { description: 'Compute resources of each edge pod.' }),
  natKeepaliveSeconds: int({
    description: 'How often the edge sends an OPTIONS to each phone registered over UDP, so the NAT in front of the phone keeps its binding open and calls reach it. A phone that leaves three in a row unanswered is no longer pinged until it registers again. 0 sends none.',
    minimum: 0,
    maximum: 3600,
    default: 25,
    rules: [{ rule: 'self == 0 || self >= 5', message: 'edge.natKeepaliveSeconds must be 0 (off) or at least 5 seconds' }],
  }),
  advertisedHost: str({
    description: 'Host name or address phones use to reach this pool\'s edge (the load balancer\'s name, say); written into their provisioning files. Defaults to the edge Service\'s cluster DNS name.',
    maxLength: 253,
    pattern: '^[A-Za-z0-9.-]+$',
  }),
  tls: obj({
    secretName: objectName('A kubernetes.io/tls Secret in the pool\'s namespace (keys tls.crt and tls.key): the certificate the edge presents to phones, issued for advertisedHost. cert-manager can issue and renew it; the edge loads a renewed certificate without a restart.'),
    port: port('TCP port of SIP over TLS (SIPS) phones connect to.', 5061),
  }, {
    description: 'SIP over TLS for phones. Set, the edge listens for TLS on port beside sipPort, the Service exposes it, and every provisioned phone registers over TLS on that port; it is also what lets the login IVR accept SRTP (SDES keys travel in the SIP messages, so the edge takes them only over TLS). The PBX side keeps pbx.transport.',
    required: ['secretName'],
  }),
  rtpPorts: obj({
    first: int({ description: 'First UDP port of the login IVR\'s RTP; even, as RTP wants.', minimum: 1024, maximum: 65534, default: 20000 }),
    count: int({
      description: 'How many RTP ports (first, first+2, first+4, ...): one per feature-code call in progress on each edge pod. Each is a port of the edge Service, and load balancers limit ports, so keep it small.',
      minimum: 1,
      maximum: 100,
      default: 32,
    }),
  }, {
    description: 'UDP ports the login IVR receives the phones\' RTP (their DTMF) on; the edge Service exposes each one, so a phone outside the cluster reaches the IVR.',
    default: {},
    rules: [
      { rule: 'self.first % 2 == 0', message: 'edge.rtpPorts.first must be even (RTP uses even ports)', fieldPath: '.first' },
      { rule: 'self.first + 2 * (self.count - 1) <= 65534', message: 'edge.rtpPorts: first + 2 * (count - 1) must not pass 65534: lower first or count', fieldPath: '.count' },
    ],
  }),
}, {
  description: 'The edge pods the operator runs for this pool.',
  default: {},
  rules: [{
    rule: 'self.sipPort != self.httpPort && self.sipPort != self.metricsPort && self.httpPort != self.metricsPort',
    message: 'edge: sipPort, httpPort and metricsPort must be three different ports',
  }, {
    rule: '!has(self.rtpPorts) || self.sipPort < self.rtpPorts.first || self.sipPort > self.rtpPorts.first + 2 * (self.rtpPorts.count - 1)',
    message: 'edge: sipPort must lie outside rtpPorts (both are UDP ports of the same Service)',
    fieldPath: '.rtpPorts',
  }, {
    rule: '!has(self.tls) || (self.tls.port != self.sipPort && self.tls.port != self.httpPort && self.tls.port != self.metricsPort)',
    message: 'edge.tls.port must differ from sipPort, httpPort and metricsPort (all are TCP ports of the edge)',
    fieldPath: '.tls.port',
  }],
});

export const poolSpecSchema = obj({
  pbx: pbxSchema,
  featureCodes: featureCodesSchema,
  emergency: emergencySchema,
  sessionPolicy: sessionPolicySchema,
  pinPolicy: pinPolicySchema,
  edge: edgeSchema,
  keyPolicy: str({
    description: 'How a user\'s keys land on a desk phone: shift puts a logout key first and moves the user\'s keys down by one (as 3CX does), replace keeps the user\'s keys in place with the logout key last, none writes only the user\'s keys.',
    enum: ['shift', 'replace', 'none'],
    default: 'shift',
  }),
}, { description: 'Desired state of the pool: its PBX, codes and policies.', required: ['pbx', 'emergency'], rules: EMERGENCY_CLASH_RULES });

export const poolStatusSchema = obj({
  conditions: conditionsField('Ready: the edge is serving the pool; Degraded: a feature code clashes with another code or an emergency number (a pool stored before such codes were refused).'),
  observedGeneration: observedGenerationField(),
  edgeReadyReplicas: int({ description: 'Edge pods ready to serve.', minimum: 0 }),
  devices: int({ description: 'Devices in the pool.', minimum: 0 }),
  occupiedDevices: int({ description: 'Devices with a user logged in.', minimum: 0 }),
}, { description: 'Observed state of the pool, written by the controller.' });

export type HotDeskPoolSpec = Infer<typeof poolSpecSchema>;
export type HotDeskPoolSpecInput = InferInput<typeof poolSpecSchema>;
export type HotDeskPoolStatus = Infer<typeof poolStatusSchema>;
export type HotDeskPool = Resource<typeof KINDS.pool.kind, HotDeskPoolSpec, HotDeskPoolStatus>;
export type FeatureCodesSpec = HotDeskPoolSpec['featureCodes'];
export type SessionPolicySpec = HotDeskPoolSpec['sessionPolicy'];
export type PinPolicySpec = HotDeskPoolSpec['pinPolicy'];

export const poolDefinition: KindDefinition = {
  key: 'pool',
  description: 'HotDeskPool: a group of hot-desk phones in front of one PBX, with the feature codes, emergency numbers and session and PIN policies they share.',
  spec: poolSpecSchema,
  status: poolStatusSchema,
  printerColumns: [
    { name: 'PBX', type: 'string', jsonPath: '.spec.pbx.host', description: 'The upstream PBX.' },
    { name: 'Devices', type: 'integer', jsonPath: '.status.devices', description: 'Devices in the pool.' },
    { name: 'Occupied', type: 'integer', jsonPath: '.status.occupiedDevices', description: 'Devices with a user logged in.' },
    readyColumn('pool\'s edge'),
  ],
};

export const poolCrd = customResourceDefinition(poolDefinition);
