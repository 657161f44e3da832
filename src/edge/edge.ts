import { createSecretKey, randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HotDeskPool } from '../api/index.ts';
import { effectiveFeatureCodes } from '../api/feature-codes.ts';
import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import { loadPrompts, type PromptSet } from '../media/prompts.ts';
import { EventRecorder, KubeClient, ProbeServer, RuntimeMetrics } from '../runtime/index.ts';
import { cloneMessage, getHeader, type SipResponse } from '../sip/message.ts';
import { SipProxy, type InDialogFlowRoute } from '../sip/proxy.ts';
import type { IncomingRequest, ProxyRequestOptions, ServerResponse } from '../sip/request-context.ts';
import { assertedIdentity, requestUriInDomain, stripPhoneClaims } from '../sip/sanitise.ts';
import type { TimerSettings } from '../sip/transaction.ts';
import { createLogger, type Logger } from '../log.ts';
import { decideDial, dialledDigits, type DialCodes } from './dial-decision.ts';
import { attributeCaller, provenCaller, type Caller } from './caller-attribution.ts';
import { EdgeMetrics } from './edge-metrics.ts';
import { deliverToFlow, findFlowToken, isDeliverableToken, type ForwardToReplica } from './flow-delivery.ts';
import { FlowTokens } from './flow-token.ts';
import { handleFeatureCall, type FeatureCallDeps } from './feature-call.ts';
import { IvrCallGate, type IvrCallLimits } from './ivr-call-gate.ts';
import { LoginTracker } from './login-tracker.ts';
import { startMediaPorts, type MediaPorts } from './media-ports.ts';
import { startNatKeepalives } from './nat-keepalive-sender.ts';
import { pbxFacingHostChooser } from './edge-faces.ts';
import { HostAddresses, isFromPbx, isFromPbxHostOverUdp, systemResolve } from './pbx-addresses.ts';
import { PbxResolver } from './pbx-resolver.ts';
import { shouldTryNextTarget } from './pbx-targets.ts';
import { PinAttempts } from './pin-attempts.ts';
import { PoolView, type CallerDesk } from './pool-view.ts';
import { startProvisioningServer, type ProvisioningResult, type ProvisioningServer } from './provisioning-server.ts';
import { startProvisioningWorkers } from './provisioning-workers.ts';
import { ProvisioningCatalog } from './provisioning-catalog.ts';
import { provisioningSource } from './provisioning-source.ts';
import { ProxyAuthenticator } from './proxy-auth.ts';
import { PhoneFlows } from './phone-flows.ts';
import { forwardToReplica, inDialogReplicaHop } from './replica-forwarding.ts';
import { replicaAddress, ReplicaPeers } from './replica-peers.ts';
import { registerChanges, restoreContacts, type ContactRewrite } from './register-rewrite.ts';
import { bindingFromResponse, isRemoval, RegistrationTable } from './registrations.ts';
import { Resyncer } from './resync.ts';
import { SecretReader } from './secret-reader.ts';
import { EdgeStatusWriter } from './status-writer.ts';

export interface EdgeOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  pool: string;
  /** Address to bind SIP, HTTP and RTP on. */
  host?: string;
  /** Address phones reach this edge at (Via, Record-Route, SDP). Default: host. */
  advertisedHost?: string;
  /** Address the PBX reaches this edge at, when not advertisedHost (an in-cluster PBX: the pod IP). */
  pbxFacingHost?: string;
  sipPort?: number;
  /**
   * SIP over TLS for phones (PEM certificate chain and key); absent: none. A phone registered over
   * TLS may use SDES-SRTP on the login IVR. Port 0 picks a free one (tests).
   */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  httpPort?: number;
  metricsPort?: number;
  prompts?: PromptSet;
  sipTimers?: Partial<TimerSettings>;
  logger?: Logger;
  /** How often the edge re-reports a session's activity (for the pool's idle timeout). */
  activityReportMs?: number;
  /**
   * Processes serving provisioning files besides this one (default 2); 0 serves them from this
   * process, on the same event loop as SIP.
   */
  provisioningWorkers?: number;
  /** UDP ports the IVR's RTP binds in (the ones the edge Service exposes). Default: any free port. */
  rtpPortRange?: { min: number; max: number };
  /**
   * With rtpPortRange: the UDP port replicas relay the IVR's RTP to each other on, pod IP to pod IP
   * (media-relay.ts), the same on every replica. Default: no relay (one replica).
   */
  mediaRelayPort?: number;
  /** OPTIONS keep-alives to phones registered over UDP, every this many seconds; 0 for none. Default 25. */
  natKeepaliveSeconds?: number;
  /** Feature-code (IVR) calls in progress per source address and per pool; see ivr-call-gate.ts. */
  ivrCallLimits?: IvrCallLimits;
  /**
   * Key of the flow tokens this edge writes into the registrations it passes to the PBX (Path or
   * Contact). Default: 32 random bytes for this process; replicas need not share it (flow-token.ts).
   */
  flowTokenKey?: Buffer;
  /**
   * This replica's in-cluster SIP address (`host:port`), named in its flow tokens so another
   * replica can pass it a request for one of its flows. Default: the bind host (else the
   * advertised host) and the SIP port.
   */
  replicaAddress?: string;
  /** Passes a request for a flow another replica holds to that replica; default: to a ready peer (replica-forwarding.ts). */
  forwardToReplica?: ForwardToReplica;
}

export interface Edge {
  sipPort: number;
  /** The TLS listener's port, when there is one. */
  tlsPort?: number;
  /** Serves a renewed certificate and key to new TLS connections from now on. */
  setTlsCredentials(credentials: { cert: string | Buffer; key: string | Buffer }): void;
  httpPort: number;
  metricsPort: number;
  metrics: RuntimeMetrics;
  stop(): Promise<void>;
}

const DEFAULT_PROVISIONING_WORKERS = 2;
const DEFAULT_NAT_KEEPALIVE_SECONDS = 25;

type ProvenCaller = Extract<Caller, { kind: 'desk' }>;
type ClaimedCaller = Extract<Caller, { kind: 'claim' }>;

function sipDomain(pool: HotDeskPool): string {
  return pool.spec.pbx.domain ?? pool.spec.pbx.host;
}

/** The PBX's targets in the order to try them (one, unless DNS SRV names several), with failover between them. */
async function pbxDestination(resolver: PbxResolver, pool: HotDeskPool): Promise<Pick<ProxyRequestOptions, 'destination' | 'alternatives' | 'tryNext'>> {
  const [first, ...rest] = await resolver.targets(pool.spec.pbx);
  return rest.length > 0 ? { destination: first!, alternatives: rest, tryNext: shouldTryNextTarget } : { destination: first! };
}

function dialCodes(pool: HotDeskPool): DialCodes {
  const codes = effectiveFeatureCodes(pool.spec.featureCodes);
  return { login: codes.login, loginWithExtension: codes.loginWithExtension, logout: codes.logout ?? '', emergencyNumbers: pool.spec.emergency.numbers };
}

/** Every RTP port of the pool's range, bound before the edge answers a call, and the relay between replicas. */
function startIvrPorts(opts: EdgeOptions, host: string, ownHost: () => string, peers: ReplicaPeers, runtimeMetrics: RuntimeMetrics, logger: Logger): Promise<MediaPorts | undefined> {
  if (!opts.rtpPortRange) return Promise.resolve(undefined);
  return startMediaPorts({ host, range: opts.rtpPortRange, relayPort: opts.mediaRelayPort, ownAddress: ownHost, peers, registry: runtimeMetrics.registry, logger });
}

/**
 * One pool's edge: the SIP feature-code proxy in front of the tenant's PBX, the login IVR, the
 * re-sync notifier and the provisioning server. Stateless beyond caches: every replica serves.
 */
export async function startEdge(opts: EdgeOptions): Promise<Edge> {
  const logger = opts.logger ?? createLogger('hotdesk-edge', { pool: opts.pool });
  const host = opts.host ?? '0.0.0.0';
  const advertisedHost = opts.advertisedHost ?? (host === '0.0.0.0' ? '127.0.0.1' : host);
  const client = new KubeClient(opts.kubeConfig, { fieldManager: EDGE_FIELD_MANAGER });
  const runtimeMetrics = new RuntimeMetrics();
  const metrics = new EdgeMetrics(runtimeMetrics.registry);
  const view = new PoolView(client, { namespace: opts.namespace, pool: opts.pool, logger });
  const workers = opts.provisioningWorkers ?? DEFAULT_PROVISIONING_WORKERS;
  // Before the re-sync notifier: a changed file must reach the workers before the phone hears of it.
  const catalog = workers > 0 ? new ProvisioningCatalog(view) : undefined;
  const secrets = new SecretReader(client, opts.namespace, opts.pool);
  const status = new EdgeStatusWriter(client, opts.namespace);
  const registrations = new RegistrationTable();
  // One resolver of the PBX's host for the rate-limit exemption and for telling its requests apart.
  const pbxResolver = new PbxResolver({ onError: (pbx, err) => logger.warn({ pbx, err: String(err) }, 'could not look the PBX up in DNS') });
  const pbxAddresses = new HostAddresses({
    onError: (pbx, err) => logger.warn({ pbx, err: String(err) }, 'could not resolve the PBX host'),
    // A PBX found through SRV sends from any of its targets' addresses, beside its own name's.
    resolve: async (host) => {
      const pbx = view.pool()?.spec.pbx;
      const own = await systemResolve(host).catch(() => [] as string[]);
      const targets = pbx?.host === host ? await pbxResolver.addresses(pbx) : [];
      if (own.length === 0 && targets.length === 0) throw new Error(`${host}: no addresses`);
      return [...own, ...targets];
    },
  });
  // The PBX as isFromPbx knows it: with the ports it listens on when it is found in DNS.
  const pbxOf = (pool: HotDeskPool) => ({ ...pool.spec.pbx, ports: pbxResolver.knownPorts(pool.spec.pbx) });
  const logins = new LoginTracker(metrics);
  const prompts = opts.prompts ?? (await loadPrompts());
  const tokens = new FlowTokens(opts.flowTokenKey ?? randomBytes(32));
  // The SIP port is known once listening (0 in tests picks one).
  const replica = (): string => opts.replicaAddress ?? `${host === '0.0.0.0' || host === '::' ? advertisedHost : host}:${proxy.address('udp').port}`;
  let phoneFlows: PhoneFlows | undefined;
  // The other replicas of the pool: the only addresses a request for another's flow goes to.
  const peers = new ReplicaPeers(client, { namespace: opts.namespace, pool: opts.pool, logger });
  const ownHost = (): string => replicaAddress(replica(), 'udp')?.address ?? host;
  const proxy = new SipProxy({
    host,
    advertisedHost,
    advertisedHostFor: pbxFacingHostChooser(opts.pbxFacingHost, () => view.pool()?.spec.pbx.host, pbxAddresses),
    otherOwnHosts: opts.pbxFacingHost ? [opts.pbxFacingHost] : [],
    udpPort: opts.sipPort ?? 5060,
    tcpPort: opts.sipPort ?? 5060,
    ...(opts.tls ? { tls: opts.tls } : {}),
    metrics: metrics.sipHook(),
    logger,
    // The connections the edge opens to the PBX stay up: the PBX sends its own requests back on them.
    keepConnectionAlive: (peer) => {
      const pool = view.pool();
      return pool !== undefined && isFromPbx(pbxAddresses, pbxOf(pool), peer);
    },
    // The PBX carries every phone's calls: limiting it per source would drop real traffic.
    rateLimitExempt: (address) => pbxAddresses.matches(view.pool()?.spec.pbx.host, address) || peers.isPeerAddress(address),
    // Whatever the handler decides, a phone's identity claims and routes never reach the PBX.
    filterForwarded: (forwarded, source, inDialog) => {
      const pool = view.pool();
      if (pool && (isFromPbx(pbxAddresses, pbxOf(pool), source) || peers.isPeerAddress(source.address))) return;
      stripPhoneClaims(forwarded, { poolHeaders: pool ? [pool.spec.emergency.callerIdHeader] : [], inDialog });
    },
    inDialogFlow: (req, routeUsers): InDialogFlowRoute | undefined => {
      const pool = view.pool();
      const hop = pool && isFromPbx(pbxAddresses, pbxOf(pool), req.source) ? inDialogReplicaHop(routeUsers, tokens, replica(), peers, req.source.transport, ownHost()) : undefined;
      if (hop) return 'to' in hop ? hop.to : hop;
      return phoneFlows?.inDialogFlow(req, routeUsers);
    },
    ...(opts.sipTimers ? { timers: opts.sipTimers } : {}),
  });
  phoneFlows = new PhoneFlows({ proxy, tokens, replica, view, registrations, pbxAddresses, isPeer: (address) => peers.isPeerAddress(address) });
  const flows = phoneFlows;
  const deliverHere = flows.deliverHere.bind(flows);
  new Resyncer({ proxy, view, registrations, status, metrics, logins, logger, replica, readyReplicas: () => peers.list() });
  const attempts = new PinAttempts({ client, namespace: opts.namespace, recorder: new EventRecorder({ client, component: 'hotdesk-edge', logger }), logger });
  const gate = new IvrCallGate(opts.ivrCallLimits);
  const featureDeps: FeatureCallDeps = { proxy, view, client, secrets, status, prompts, metrics, logins, logger, attempts, gate, rtpHost: host, mediaAddress: advertisedHost, ...(opts.rtpPortRange ? { rtpPortRange: opts.rtpPortRange } : {}) };
  const lastActivity = new Map<string, number>();
  const activityEveryMs = opts.activityReportMs ?? 60_000;
  let authenticator: ProxyAuthenticator | undefined;
  const authenticatorFor = (pool: HotDeskPool): ProxyAuthenticator => {
    const realm = sipDomain(pool);
    if (authenticator?.realm !== realm) authenticator = new ProxyAuthenticator({ realm });
    return authenticator;
  };

  const reportActivity = (desk: CallerDesk | undefined) => {
    const session = desk?.session?.metadata.name;
    if (!session) return;
    const now = Date.now();
    if (now - (lastActivity.get(session) ?? 0) < activityEveryMs) return;
    lastActivity.set(session, now);
    status.session(session, { lastActivityAt: new Date(now).toISOString() }).catch((err: unknown) => logger.warn({ session, err: String(err) }, 'could not report activity'));
  };

  /** The desk a REGISTER is for: the one its flow already proves when the identity may be there. */
  const registeringDevice = (identity: string, flow: string): string | undefined => {
    const desk = view.deskOf(identity);
    const current = registrations.flow(flow)?.device;
    if (desk?.state === 'occupied' && current !== undefined && view.occupantExtension(current) === identity) return current;
    return desk?.device.metadata.name;
  };

  const onRegisterAnswered = (req: IncomingRequest, answered: SipResponse, rewrites: readonly ContactRewrite[]) => {
    const identity = req.to?.uri.user;
    const removal = isRemoval(req.message);
    // An identity the desk no longer has (alice logged out) is found by the flow it registered on.
    const device = identity ? registeringDevice(identity, req.flow) ?? (removal ? registrations.flow(req.flow)?.device : undefined) : undefined;
    if (!identity || !device) return;
    // The binding as the phone knows it: its own Contact, not the edge's that the PBX stored.
    const response = cloneMessage(answered);
    restoreContacts(response, rewrites, (uri) => flows.phoneContactOf(uri, identity));
    const binding = removal ? undefined : bindingFromResponse(response, req.source, Date.now(), getHeader(req.message, 'contact'));
    if (!binding) {
      registrations.removeFlowIdentity(req.flow, identity);
      const held = registrations.get(device)?.identity ?? view.device(device)?.status?.registration?.identity;
      if (held !== undefined && held !== identity) return;
      registrations.remove(device);
      // A re-sync must not go to a phone that left: the device has no registration any more.
      status.device(device, { registration: null })
        .catch((err: unknown) => logger.warn({ device, err: String(err) }, 'could not clear registration'));
      return;
    }
    logins.registered(device, binding.identity);
    // The PBX accepted the REGISTER and its 2xx goes back on this flow: the flow now proves the desk.
    if (registrations.record({ device, ...binding }, req.flow)) {
      status.device(device, { registration: { contact: binding.contact, identity: binding.identity, seenAt: new Date().toISOString(), replica: replica() } })
        .catch((err: unknown) => logger.warn({ device, err: String(err) }, 'could not record registration'));
    }
  };

  /** How a request from a phone goes to the PBX: the pool's Request-URI domain, and the identity the edge proved. */
  const towardsPbx = async (pool: HotDeskPool, req: IncomingRequest, caller: ProvenCaller | undefined, add: Array<[string, string]> = []): Promise<ProxyRequestOptions> => {
    const headers = [...add];
    if (caller && pool.spec.pbx.assertIdentity && !headers.some(([name]) => name.toLowerCase() === 'p-asserted-identity')) {
      const device = view.device(caller.device);
      const occupant = caller.assertedUser !== undefined ? view.userByExtension(caller.assertedUser) : undefined;
      const user = caller.assertedUser ?? device?.spec.idleIdentity.username;
      const displayName = occupant?.spec.displayName ?? device?.spec.idleIdentity.displayName;
      if (user) headers.push(['p-asserted-identity', assertedIdentity(user, sipDomain(pool), displayName)]);
    }
    return {
      ...(await pbxDestination(pbxResolver, pool)),
      // The PBX's in-dialog requests of a phone's call come back on the phone's flow too.
      ...(isFromPbx(pbxAddresses, pbxOf(pool), req.source) ? {} : { recordRouteUser: flows.tokenOf(req) }),
      ...(pool.spec.pbx.rewriteRequestUriHost ? { requestUri: requestUriInDomain(req.uri, sipDomain(pool)) } : {}),
      ...(headers.length > 0 ? { headers: { add: headers } } : {}),
    };
  };

  /**
   * A phone claims a desk's identity on a flow that proves nothing (not registered here: another
   * replica's, or forged): the Digest answer decides. Undefined when a challenge was sent, or the
   * claim failed and the request was answered.
   */
  const proveClaim = async (pool: HotDeskPool, req: IncomingRequest, res: ServerResponse, claim: ClaimedCaller, fromUser: string, emergency: boolean): Promise<ProvenCaller | 'unproven' | undefined> => {
    const password = await claimedPassword(claim);
    const auth = authenticatorFor(pool);
    const challenge = (stale: boolean) => {
      res.send(407, { reason: 'Proxy Authentication Required', headers: [['Proxy-Authenticate', auth.challenge(req.flow, claim.identity, { stale })]] });
      return undefined;
    };
    if (password === undefined) {
      logger.warn({ device: claim.device, account: claim.account }, 'cannot verify a caller: the account\'s password is not readable');
      if (emergency) return 'unproven';
      res.send(403, { reason: 'Caller Not Verifiable' });
      return undefined;
    }
    const check = auth.check({ authorizations: req.getAll('proxy-authorization'), method: req.method, flow: req.flow, identity: claim.identity, password });
    switch (check.result) {
      case 'ok':
        return provenCaller(claim.device, [claim.identity], fromUser, 'digest', view);
      case 'missing':
        return challenge(false);
      case 'stale':
        return challenge(true);
      case 'denied':
        logger.info({ device: claim.device, account: claim.account, problem: check.problem, callId: req.callId }, 'caller failed the Digest challenge');
        // Emergency calls go through whatever the credentials; they just carry no desk.
        return emergency ? 'unproven' : challenge(false);
    }
  };

  const claimedPassword = async (claim: ClaimedCaller): Promise<string | undefined> => {
    if (claim.account === 'idle') {
      const ref = view.device(claim.device)?.spec.idleIdentity.secretRef;
      return ref ? secrets.value(ref.name, ref.passwordKey) : undefined;
    }
    const ref = view.userByExtension(claim.identity)?.spec.secretRef;
    return ref ? secrets.value(ref.name, ref.passwordKey) : undefined;
  };

  const handle = async (req: IncomingRequest, res: ServerResponse): Promise<void> => {
    const pool = view.pool();
    if (!pool) {
      res.send(503, { reason: 'Hot desk pool not available' });
      return;
    }
    const fromPbx = isFromPbx(pbxAddresses, pbxOf(pool), req.source);
    // Another replica passing on the PBX's request for a flow this one holds.
    const fromReplica = !fromPbx && peers.isPeerAddress(req.source.address);
    if ((fromPbx || fromReplica || isFromPbxHostOverUdp(pbxAddresses, pool.spec.pbx, req.source)) && !req.inDialog) {
      // A request for a phone, naming its flow by the token the edge gave the PBX. From the PBX's
      // host on another port only a genuine token counts: it may be a phone's call behind the same NAT.
      const found = findFlowToken(req.message, (uri) => proxy.isOwnUri(uri));
      if (found && (fromPbx || fromReplica || isDeliverableToken(found.token, tokens, replica(), (r) => peers.has(r)))) {
        await deliverToFlow(req, res, found, { tokens, replica: replica(), deliverHere, fromReplica, forwardToReplica: opts.forwardToReplica ?? forwardToReplica(peers, ownHost) });
        return;
      }
    }
    if (req.method === 'REGISTER') {
      const options = await towardsPbx(pool, req, undefined);
      let rewrites: ContactRewrite[] = [];
      if (!fromPbx) {
        const mode = pool.spec.pbx.phoneRouting ?? 'contact';
        const changes = registerChanges(req.message, mode, flows.edgeUri(pool, flows.tokenOf(req)));
        rewrites = changes.rewrites;
        options.headers = { add: [...(options.headers?.add ?? []), ...changes.add], remove: changes.remove };
        const identity = req.to?.uri.user ?? '';
        // Even a query (no Contact) or a removal lists the bindings the PBX holds: the phone's own.
        if (mode === 'contact') options.rewriteResponse = (response) => restoreContacts(response, rewrites, (uri) => flows.phoneContactOf(uri, identity));
      }
      const outcome = await req.proxy(options);
      if (outcome.response && outcome.status >= 200 && outcome.status < 300) onRegisterAnswered(req, outcome.response, rewrites);
      return;
    }
    if (req.inDialog) {
      await req.proxy(await pbxDestination(pbxResolver, pool));
      return;
    }
    const fromUser = req.from?.uri.user ?? '';
    const attributed: Caller = fromPbx ? { kind: 'other' } : attributeCaller(registrations.flow(req.flow), fromUser, view);
    if (req.method !== 'INVITE') {
      // Not a call: nothing for the edge to decide. The PBX authenticates what the edge did not prove.
      await req.proxy(await towardsPbx(pool, req, attributed.kind === 'desk' ? attributed : undefined));
      return;
    }
    const codes = dialCodes(pool);
    const dialled = dialledDigits(req.parsedUri?.user ?? '');
    let caller: ProvenCaller | undefined;
    if (attributed.kind === 'desk') caller = attributed;
    else if (attributed.kind === 'claim') {
      const proven = await proveClaim(pool, req, res, attributed, fromUser, codes.emergencyNumbers.includes(dialled));
      if (proven === undefined) return;
      if (proven !== 'unproven') caller = proven;
    }
    const desk = caller ? view.callerDesk(caller.device, caller.state) : undefined;
    if (caller && !desk) caller = undefined; // the device left the pool since
    const decision = desk && caller ? decideDial(dialled, caller.state, codes, caller.deskOccupied) : decideDial(dialled, 'unknown', codes);
    switch (decision.action) {
      case 'login':
      case 'logout':
        await handleFeatureCall(featureDeps, req, res, desk!, decision);
        return;
      case 'block':
        metrics.blockedCalls.inc();
        res.send(403, { reason: decision.reason });
        return;
      case 'emergency': {
        metrics.emergencyCalls.inc();
        const add: Array<[string, string]> = [];
        // The desk's location, never the last user's: responders go to where the phone is.
        if (desk?.device.spec.location) add.push([pool.spec.emergency.callerIdHeader, desk.device.spec.location.replace(/[\r\n]/g, ' ')]);
        if (desk?.state === 'idle' && pool.spec.emergency.callerId) {
          add.push(['p-asserted-identity', `<sip:${pool.spec.emergency.callerId}@${sipDomain(pool)}>`]);
        }
        logger.warn({ device: desk?.device.metadata.name, callId: req.callId }, 'emergency call');
        await req.proxy(await towardsPbx(pool, req, caller, add));
        return;
      }
      case 'forward':
        reportActivity(desk);
        await req.proxy(await towardsPbx(pool, req, caller));
        return;
    }
  };

  proxy.on('request', (req, res) => handle(req, res).catch((err: unknown) => {
    logger.error({ callId: req.callId, method: req.method, err: err instanceof Error ? err.message : String(err) }, 'request handling failed');
    if (!res.finalSent) res.send(500, { reason: 'Edge error' });
  }));

  // A start that fails half way (a port taken, say) must not leave watches and sockets behind in a
  // process that goes on running: tests and the demo start edges in-process.
  let http: ProvisioningServer | undefined;
  let probe: ProbeServer | undefined;
  let stopNatKeepalives = (): void => {};
  let media: MediaPorts | undefined;
  const stopAll = async () => {
    stopNatKeepalives();
    await media?.stop();
    await http?.close();
    await proxy.close();
    await Promise.all([...view.informers(), peers.informer].map((i) => i.stop()));
    await probe?.close();
  };
  try {
    for (const inf of [...view.informers(), peers.informer]) inf.start();
    await Promise.all([...view.informers(), peers.informer].map((i) => i.waitForSync()));
    media = await startIvrPorts(opts, host, ownHost, peers, runtimeMetrics, logger);
    if (media) featureDeps.rtpPorts = media.pool;
    await proxy.listen();
    stopNatKeepalives = startNatKeepalives({ proxy, flows: () => registrations.udpFlows(), intervalSeconds: opts.natKeepaliveSeconds ?? DEFAULT_NAT_KEEPALIVE_SECONDS, counter: metrics.natKeepalives, logger });

    const provisioning = {
      host,
      port: opts.httpPort ?? 8080,
      log: logger,
      // One key for all of this pod's provisioning processes; the Service keeps a phone on one pod.
      nonceKey: createSecretKey(randomBytes(32)),
      onRequest: (result: ProvisioningResult) => metrics.provisioningRequests.inc({ result }),
    };
    http = catalog
      ? await startProvisioningWorkers({ ...provisioning, count: workers, catalog, kubeConfig: opts.kubeConfig, namespace: opts.namespace, pool: opts.pool })
      : await startProvisioningServer({ ...provisioning, source: provisioningSource((fileName) => view.servedFile(fileName), secrets) });

    probe = new ProbeServer({ registry: runtimeMetrics.registry, ready: () => view.informers().every((i) => i.hasSynced()), host, port: opts.metricsPort ?? 9090 });
    await probe.listen();
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  const tlsPort = opts.tls ? proxy.address('tls').port : undefined;
  logger.info({ sip: proxy.address('udp').port, ...(tlsPort !== undefined ? { sipTls: tlsPort } : {}), http: http.port, metrics: probe.port }, 'edge serving');

  return {
    sipPort: proxy.address('udp').port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    setTlsCredentials: (credentials) => proxy.setTlsCredentials(credentials),
    httpPort: http.port,
    metricsPort: probe.port,
    metrics: runtimeMetrics,
    stop: stopAll,
  };
}
