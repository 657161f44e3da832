import { Counter, Histogram, type Registry } from 'prom-client';
import type { SipMetricsHook } from '../sip/metrics.ts';
import type { ProvisioningResult } from './provisioning-server.ts';

export type FeatureCode = 'login' | 'logout';
export type FeatureResult = 'success' | 'wrong_pin' | 'locked_out' | 'busy' | 'not_permitted' | 'unknown_user' | 'refused' | 'abandoned' | 'error' | 'not_logged_in';

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
    this.resyncNotifies = new Counter({ name: 'hotdesk_resync_notifies_total', help: 'check-sync NOTIFYs sent to phones, by result', labelNames: ['result'], registers });
    for (const result of ['served', 'challenged', 'denied', 'not_found', 'error'] satisfies ProvisioningResult[]) this.provisioningRequests.inc({ result }, 0);
  }

  sipHook(): SipMetricsHook {
    return {
      requestReceived: (method) => this.sipRequests.inc({ method }),
      responseSent: (code) => this.sipResponses.inc({ code: String(code) }),
    };
  }
}
