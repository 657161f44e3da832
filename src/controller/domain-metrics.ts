import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HotDeskDevice, HotDeskSession } from '../api/index.ts';
import { isActive } from '../api/session-index.ts';

export interface DomainMetricSources {
  devices(): readonly HotDeskDevice[];
  sessions(): readonly HotDeskSession[];
  /** The pool a session's device belongs to (sessions do not name it themselves). */
  poolOfSession(session: HotDeskSession): string | undefined;
}

/**
 * Hot-desk metrics. Labels are namespace, pool, phase, result and reason only: never an extension
 * or a name, which would leak who sits where and grow without bound.
 */
export class DomainMetrics {
  readonly logins: Counter<'namespace' | 'pool' | 'result'>;
  readonly logouts: Counter<'namespace' | 'pool' | 'reason'>;
  readonly sessionDuration: Histogram<'namespace' | 'pool'>;
  readonly renders: Counter<'vendor' | 'result'>;

  constructor(registry: Registry, sources: DomainMetricSources) {
    const registers = [registry];
    new Gauge({
      name: 'hotdesk_devices',
      help: 'Hot-desk devices by pool and phase (Idle, Occupied, Error)',
      labelNames: ['namespace', 'pool', 'phase'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.devices()) {
          this.inc({ namespace: d.metadata.namespace ?? '', pool: d.spec.pool, phase: d.status?.phase ?? 'Pending' });
        }
      },
    });
    new Gauge({
      name: 'hotdesk_sessions_active',
      help: 'Active hot-desk sessions by pool',
      labelNames: ['namespace', 'pool'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.sessions()) {
          if (!isActive(s)) continue;
          this.inc({ namespace: s.metadata.namespace ?? '', pool: sources.poolOfSession(s) ?? '' });
        }
      },
    });
    new Gauge({
      name: 'hotdesk_devices_resync_pending',
      help: 'Occupied devices that have not yet re-registered as their occupant since the login',
      labelNames: ['namespace', 'pool'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.devices()) {
          if (d.status?.phase !== 'Occupied') continue;
          const pending = d.status.registration?.identity !== d.status.occupant?.extension;
          this.inc({ namespace: d.metadata.namespace ?? '', pool: d.spec.pool }, pending ? 1 : 0);
        }
      },
    });
    this.logins = new Counter({ name: 'hotdesk_logins_total', help: 'Logins by result (success, refused, superseded)', labelNames: ['namespace', 'pool', 'result'], registers });
    this.logouts = new Counter({ name: 'hotdesk_logouts_total', help: 'Session ends by reason', labelNames: ['namespace', 'pool', 'reason'], registers });
    this.sessionDuration = new Histogram({
      name: 'hotdesk_session_duration_seconds',
      help: 'How long sessions lasted, from login to logout',
      labelNames: ['namespace', 'pool'],
      buckets: [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400],
      registers,
    });
    this.renders = new Counter({ name: 'hotdesk_provisioning_renders_total', help: 'Provisioning file renders by vendor and result', labelNames: ['vendor', 'result'], registers });
  }
}
