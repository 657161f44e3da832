import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConnectionRefusal } from '../sip/limits-connections.ts';
import type { SipCoreReadings, SipMetricsHook } from '../sip/metrics.ts';
import type { SipParseErrorReason } from '../sip/parse-error.ts';
import type { FramingProblem } from '../sip/transport-tcp.ts';
import type { ProvisioningResult } from './provisioning-server.ts';

export type FeatureCode = 'login' | 'logout';
export type FeatureResult = 'success' | 'wrong_pin' | 'locked_out' | 'busy' | 'not_permitted' | 'unknown_user' | 'refused' | 'abandoned' | 'error' | 'not_logged_in' | 'srtp_required';

const PARSE_ERROR_REASONS = [
  'bad-start-line', 'unsupported-version', 'bad-header-line', 'too-many-headers', 'message-too-large', 'missing-header',
  'bad-header-value', 'bad-content-length', 'cseq-method-mismatch', 'incomplete',
] as const satisfies readonly SipParseErrorReason[];
// A reason added to SipParseErrorReason and not listed above fails to compile here.
const EVERY_REASON_LISTED: [Exclude<SipParseErrorReason, (typeof PARSE_ERROR_REASONS)[number]>] extends [never] ? true : never = true;
void EVERY_REASON_LISTED;

/**
 * The edge's metrics. Labels are methods, status codes, feature names and outcomes: never a user,
 * extension, MAC or dialled number.
 */
export class EdgeMetrics {
  readonly sipRequests: Counter<'method'>;
  readonly sipResponses: Counter<'code'>;
  readonly featureCodes: Counter<'code' | 'result'>;
  readonly pinFailures: Counter;
  readonly lockouts: Counter;
  readonly blockedCalls: Counter;
  readonly emergencyCalls: Counter;
  readonly provisioningRequests: Counter<'result'>;
  readonly loginDuration: Histogram;
  readonly loginReregister: Histogram;
  readonly resyncNotifies: Counter<'result'>;
  readonly natKeepalives: Counter<'result'>;
  readonly sipParseErrors: Counter<'reason'>;
  readonly sipFramingErrors: Counter<'transport' | 'problem'>;
  readonly sipRateLimited: Counter;
  readonly sipOverloaded: Counter;
  readonly sipConnectionsRefused: Counter<'transport' | 'reason'>;
  readonly sipTransactions: Gauge<'kind'>;
  readonly sipTransactionBytes: Gauge;
  readonly sipConnections: Gauge<'transport'>;
  #readings: SipCoreReadings | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sipRequests = new Counter({ name: 'sip_requests_total', help: 'SIP requests received, by method', labelNames: ['method'], registers });
    this.sipResponses = new Counter({ name: 'sip_responses_total', help: 'SIP responses sent, by status code', labelNames: ['code'], registers });
    this.featureCodes = new Counter({ name: 'hotdesk_feature_codes_total', help: 'Hot-desk feature code calls by code (login, logout) and result', labelNames: ['code', 'result'], registers });
    this.pinFailures = new Counter({ name: 'hotdesk_pin_failures_total', help: 'Wrong PINs entered at the login prompt', registers });
    this.lockouts = new Counter({ name: 'hotdesk_lockouts_total', help: 'Users and desks locked out after too many wrong PINs', registers });
    this.blockedCalls = new Counter({ name: 'hotdesk_blocked_calls_total', help: 'Calls refused because the phone is idle (not logged in)', registers });
    this.emergencyCalls = new Counter({ name: 'hotdesk_emergency_calls_total', help: 'Emergency calls forwarded', registers });
    this.provisioningRequests = new Counter({ name: 'provisioning_requests_total', help: 'Provisioning file requests by result', labelNames: ['result'], registers });
    this.loginDuration = new Histogram({
      name: 'hotdesk_login_duration_seconds',
      help: 'From the last PIN digit to the re-sync NOTIFY sent to the phone',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.loginReregister = new Histogram({
      name: 'hotdesk_login_reregister_seconds',
      help: 'From a login to the phone registering as the new user',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.natKeepalives = new Counter({ name: 'hotdesk_edge_nat_keepalives_total', help: 'OPTIONS keep-alives sent to phones registered over UDP, by result (answered: any response; unanswered: timeout or send error)', labelNames: ['result'], registers });
    this.resyncNotifies = new Counter({ name: 'hotdesk_resync_notifies_total', help: 'check-sync NOTIFYs sent to phones, by result', labelNames: ['result'], registers });
    for (const result of ['served', 'challenged', 'denied', 'not_found', 'error'] satisfies ProvisioningResult[]) this.provisioningRequests.inc({ result }, 0);

    // Abuse and load of the SIP core: what a hostile or broken client costs, and what is held.
    this.sipParseErrors = new Counter({ name: 'sip_parse_errors_total', help: 'SIP messages that could not be parsed, by reason (message-too-large: an oversized UDP datagram, dropped)', labelNames: ['reason'], registers });
    this.sipFramingErrors = new Counter({ name: 'sip_framing_errors_total', help: 'TCP/TLS connections closed for unframeable input, by transport and problem (too_large, deadline)', labelNames: ['transport', 'problem'], registers });
    this.sipRateLimited = new Counter({ name: 'sip_rate_limited_total', help: 'SIP requests dropped by the per-source rate limit', registers });
    this.sipOverloaded = new Counter({ name: 'sip_overload_rejections_total', help: 'SIP requests answered 503 because the transaction budget was spent', registers });
    this.sipConnectionsRefused = new Counter({ name: 'sip_connections_refused_total', help: 'Incoming TCP/TLS connections refused by a cap, by transport and reason (total, per_source)', labelNames: ['transport', 'reason'], registers });
    const readings = () => this.#readings;
    this.sipTransactions = new Gauge({
      name: 'sip_transactions', help: 'SIP transactions in flight, by kind (server, client)', labelNames: ['kind'], registers,
      collect() {
        const t = readings()?.transactions();
        this.set({ kind: 'server' }, t?.server ?? 0);
        this.set({ kind: 'client' }, t?.client ?? 0);
      },
    });
    this.sipTransactionBytes = new Gauge({
      name: 'sip_transaction_bytes', help: 'Bytes of SIP messages held by transactions in flight', registers,
      collect() {
        this.set(readings()?.transactions().bytes ?? 0);
      },
    });
    this.sipConnections = new Gauge({
      name: 'sip_connections', help: 'Open SIP TCP/TLS connections, by transport', labelNames: ['transport'], registers,
      collect() {
        for (const [transport, open] of Object.entries(readings()?.connections() ?? {})) this.set({ transport }, open);
      },
    });
    // Every series at zero from the start: a rate over a series that never existed draws nothing.
    this.sipRateLimited.inc(0);
    this.sipOverloaded.inc(0);
    for (const reason of PARSE_ERROR_REASONS) this.sipParseErrors.inc({ reason }, 0);
    for (const transport of ['tcp', 'tls']) {
      for (const problem of ['too_large', 'deadline'] satisfies FramingProblem[]) this.sipFramingErrors.inc({ transport, problem }, 0);
      for (const reason of ['total', 'per_source'] satisfies ConnectionRefusal[]) this.sipConnectionsRefused.inc({ transport, reason }, 0);
    }
  }

  sipHook(): SipMetricsHook {
    return {
      requestReceived: (method) => this.sipRequests.inc({ method }),
      responseSent: (code) => this.sipResponses.inc({ code: String(code) }),
      parseError: (reason) => this.sipParseErrors.inc({ reason }),
      framingError: (transport, problem) => this.sipFramingErrors.inc({ transport, problem }),
      rateLimited: () => this.sipRateLimited.inc(),
      connectionRefused: (transport, reason) => this.sipConnectionsRefused.inc({ transport, reason }),
      overloaded: () => this.sipOverloaded.inc(),
      observe: (readings) => {
        this.#readings = readings;
      },
    };
  }
}
