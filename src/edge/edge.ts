import { createSecretKey, randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HotDeskPool } from '../api/index.ts';
import { effectiveFeatureCodes } from '../api/feature-codes.ts';
import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import { loadPrompts, type PromptSet } from '../media/prompts.ts';
import { EventRecorder, KubeClient, ProbeServer, RuntimeMetrics } from '../runtime/index.ts';
import { getHeader } from '../sip/message.ts';
import { SipProxy } from '../sip/proxy.ts';
import type { IncomingRequest, ProxyTarget, ServerResponse } from '../sip/request-context.ts';
import type { TimerSettings } from '../sip/transaction.ts';
import { createLogger, type Logger } from '../log.ts';
import { decideDial, dialledDigits, type DialCodes } from './dial-decision.ts';
import { EdgeMetrics } from './edge-metrics.ts';
import { handleFeatureCall, type FeatureCallDeps } from './feature-call.ts';
import { IvrCallGate, type IvrCallLimits } from './ivr-call-gate.ts';
import { LoginTracker } from './login-tracker.ts';
import { PinAttempts } from './pin-attempts.ts';
import { PoolView, type CallerDesk } from './pool-view.ts';
import { startProvisioningServer, type ProvisioningResult, type ProvisioningServer } from './provisioning-server.ts';
import { startProvisioningWorkers } from './provisioning-workers.ts';
import { ProvisioningCatalog } from './provisioning-catalog.ts';
import { provisioningSource } from './provisioning-source.ts';
import { bindingFromResponse, RegistrationTable } from './registrations.ts';
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
  sipPort?: number;
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
  /** Feature-code (IVR) calls in progress per source address and per pool; see ivr-call-gate.ts. */
  ivrCallLimits?: IvrCallLimits;
}

export interface Edge {
  sipPort: number;
  httpPort: number;
  metricsPort: number;
  metrics: RuntimeMetrics;
  stop(): Promise<void>;
}

const DEFAULT_PROVISIONING_WORKERS = 2;
const EMERGENCY_SPOOFABLE_HEADERS = ['p-asserted-identity'];

function dialCodes(pool: HotDeskPool): DialCodes {
  const codes = effectiveFeatureCodes(pool.spec.featureCodes);
  return { login: codes.login, loginWithExtension: codes.loginWithExtension, logout: codes.logout ?? '', emergencyNumbers: pool.spec.emergency.numbers };
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
  const logins = new LoginTracker(metrics);
  const prompts = opts.prompts ?? (await loadPrompts());
  const proxy = new SipProxy({
    host,
    advertisedHost,
    udpPort: opts.sipPort ?? 5060,
    tcpPort: opts.sipPort ?? 5060,
    metrics: metrics.sipHook(),
    logger,
    // The PBX carries every phone's calls: limiting it per source would drop real traffic.
    rateLimitExempt: (address) => address === view.pool()?.spec.pbx.host,
    ...(opts.sipTimers ? { timers: opts.sipTimers } : {}),
  });
  new Resyncer({ proxy, view, registrations, status, metrics, logins, logger });
  const attempts = new PinAttempts({ client, namespace: opts.namespace, recorder: new EventRecorder({ client, component: 'hotdesk-edge', logger }), logger });
  const gate = new IvrCallGate(opts.ivrCallLimits);
  const featureDeps: FeatureCallDeps = { proxy, view, client, secrets, status, prompts, metrics, logins, logger, attempts, gate, rtpHost: host, mediaAddress: advertisedHost };
  const lastActivity = new Map<string, number>();
  const activityEveryMs = opts.activityReportMs ?? 60_000;

  const reportActivity = (desk: CallerDesk | undefined) => {
    const session = desk?.session?.metadata.name;
    if (!session) return;
    const now = Date.now();
    if (now - (lastActivity.get(session) ?? 0) < activityEveryMs) return;
    lastActivity.set(session, now);
    status.session(session, { lastActivityAt: new Date(now).toISOString() }).catch((err: unknown) => logger.warn({ session, err: String(err) }, 'could not report activity'));
  };

  const onRegisterAnswered = (req: IncomingRequest, response: NonNullable<Awaited<ReturnType<IncomingRequest['proxy']>>['response']>) => {
    const identity = req.to?.uri.user;
    const desk = identity ? view.deskOf(identity) : undefined;
    if (!desk) return;
    const device = desk.device.metadata.name ?? '';
    const binding = bindingFromResponse(response, req.source, Date.now(), getHeader(req.message, 'contact'));
    if (!binding) {
      registrations.remove(device);
      return;
    }
    logins.registered(device, binding.identity);
    if (registrations.record({ device, ...binding })) {
      status.device(device, { registration: { contact: binding.contact, identity: binding.identity, seenAt: new Date().toISOString() } })
        .catch((err: unknown) => logger.warn({ device, err: String(err) }, 'could not record registration'));
    }
  };

  const handle = async (req: IncomingRequest, res: ServerResponse): Promise<void> => {
    const pool = view.pool();
    if (!pool) {
      res.send(503, { reason: 'Hot desk pool not available' });
      return;
    }
    const pbx: ProxyTarget = { host: pool.spec.pbx.host, port: pool.spec.pbx.port, transport: pool.spec.pbx.transport };
    if (req.method === 'REGISTER') {
      const outcome = await req.proxy({ destination: pbx });
      if (outcome.response && outcome.status >= 200 && outcome.status < 300) onRegisterAnswered(req, outcome.response);
      return;
    }
    if (req.method !== 'INVITE' || req.inDialog) {
      await req.proxy({ destination: pbx });
      return;
    }
    const identity = req.from?.uri.user ?? '';
    const desk = view.deskOf(identity);
    const deskOccupied = desk ? desk.state === 'occupied' || view.occupyingSession(desk.device.metadata.name ?? '') !== undefined : false;
    const decision = decideDial(dialledDigits(req.parsedUri?.user ?? ''), desk?.state ?? 'unknown', dialCodes(pool), deskOccupied);
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
          add.push(['p-asserted-identity', `<sip:${pool.spec.emergency.callerId}@${pool.spec.pbx.domain ?? pool.spec.pbx.host}>`]);
        }
        logger.warn({ device: desk?.device.metadata.name, callId: req.callId }, 'emergency call');
        await req.proxy({ destination: pbx, headers: { add, remove: [pool.spec.emergency.callerIdHeader, ...EMERGENCY_SPOOFABLE_HEADERS] } });
        return;
      }
      case 'forward':
        reportActivity(desk);
        await req.proxy({ destination: pbx });
        return;
    }
  };

  proxy.on('request', (req, res) => handle(req, res).catch((err: unknown) => {
    logger.error({ callId: req.callId, method: req.method, err: err instanceof Error ? err.message : String(err) }, 'request handling failed');
    if (!res.finalSent) res.send(500, { reason: 'Edge error' });
  }));

  for (const inf of view.informers()) inf.start();
  await Promise.all(view.informers().map((i) => i.waitForSync()));
  await proxy.listen();

  const provisioning = {
    host,
    port: opts.httpPort ?? 8080,
    log: logger,
    // One key for all of this pod's provisioning processes; the Service keeps a phone on one pod.
    nonceKey: createSecretKey(randomBytes(32)),
    onRequest: (result: ProvisioningResult) => metrics.provisioningRequests.inc({ result }),
  };
  const http: ProvisioningServer = catalog
    ? await startProvisioningWorkers({ ...provisioning, count: workers, catalog, kubeConfig: opts.kubeConfig, namespace: opts.namespace, pool: opts.pool })
    : await startProvisioningServer({ ...provisioning, source: provisioningSource((fileName) => view.servedFile(fileName), secrets) });

  const probe = new ProbeServer({ registry: runtimeMetrics.registry, ready: () => view.informers().every((i) => i.hasSynced()), host, port: opts.metricsPort ?? 9090 });
  await probe.listen();
  logger.info({ sip: proxy.address('udp').port, http: http.port, metrics: probe.port }, 'edge serving');

  return {
    sipPort: proxy.address('udp').port,
    httpPort: http.port,
    metricsPort: probe.port,
    metrics: runtimeMetrics,
    stop: async () => {
      await http.close();
      await proxy.close();
      await Promise.all(view.informers().map((i) => i.stop()));
      await probe.close();
    },
  };
}
