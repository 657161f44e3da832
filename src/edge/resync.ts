import { ANNOTATION_REVISION, LABEL_DEVICE } from '../api/labels.ts';
import type { SipProxy } from '../sip/proxy.ts';
import { sendCheckSync, SipTimeoutError } from '../sip/uac.ts';
import { destinationOfUri } from '../sip/routing.ts';
import { tryParseUri } from '../sip/uri.ts';
import type { Logger } from '../log.ts';
import type { EdgeMetrics } from './edge-metrics.ts';
import { LatestPerKey } from './latest-per-key.ts';
import type { LoginTracker } from './login-tracker.ts';
import type { PoolView } from './pool-view.ts';
import type { RegistrationTable } from './registrations.ts';
import { resyncSender } from './resync-sender.ts';
import type { EdgeStatusWriter } from './status-writer.ts';

export interface ResyncDeps {
  proxy: SipProxy;
  view: PoolView;
  registrations: RegistrationTable;
  status: EdgeStatusWriter;
  metrics: EdgeMetrics;
  logins: LoginTracker;
  logger: Logger;
  /** NOTIFYs tried when the transport itself fails (e.g. a TCP connection refused); default 3. */
  attempts?: number;
  /** Pause after such a failure before the next try; default 1 s. */
  retryDelayMs?: number;
  /** This replica's name and the pool's ready replicas: one replica per phone sends (resync-sender.ts). */
  replica?: () => string;
  readyReplicas?: () => readonly string[];
}

/**
 * When a device's rendered configuration changes revision, tells the phone to fetch it again with
 * `NOTIFY Event: check-sync;reboot=false` (no reboot), and records the answer in status.
 *
 * One NOTIFY is one client transaction: over UDP it is retransmitted on RFC 3261 timers (T1 =
 * 500 ms, doubling up to T2) until the phone answers or Timer F (64*T1, 32 s) gives up, so a
 * phone that missed one datagram hears again within a second, not after a 32 s timeout. A new
 * transaction is started only when the transport failed outright. Per device one NOTIFY is in
 * flight and at most one more pending: the latest change replaces older ones still waiting.
 */
export class Resyncer {
  readonly #deps: ResyncDeps;
  readonly #revisions = new Map<string, string>();
  readonly #perDevice = new LatestPerKey();

  constructor(deps: ResyncDeps) {
    this.#deps = deps;
    deps.view.configMaps.addHandler({
      onAdd: (cm) => this.#observe(cm, false),
      onUpdate: (_old, cm) => this.#observe(cm, true),
      onDelete: (cm) => this.#revisions.delete(cm.metadata?.labels?.[LABEL_DEVICE] ?? ''),
    });
  }

  #observe(cm: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }, notify: boolean): void {
    const device = cm.metadata?.labels?.[LABEL_DEVICE];
    const revision = cm.metadata?.annotations?.[ANNOTATION_REVISION];
    if (!device || !revision) return;
    const before = this.#revisions.get(device);
    this.#revisions.set(device, revision);
    // The first sighting (startup, a new device) is not a change: the phone fetches at boot.
    if (notify && before !== undefined && before !== revision) void this.resync(device);
  }

  /** Sends the check-sync; while one is in flight for the device, the latest ask waits for it. */
  resync(device: string): Promise<void> {
    return this.#perDevice.run(device, () => this.#send(device));
  }

  async #send(device: string): Promise<void> {
    const { registrations, proxy, metrics, logger, status, replica, readyReplicas } = this.#deps;
    const holder = this.#deps.view.device(device)?.status?.registration?.replica;
    if (replica && readyReplicas && resyncSender(holder, replica(), readyReplicas()) === 'other') {
      logger.debug({ device, holder }, 'configuration changed: another replica tells the phone');
      return;
    }
    const reg = registrations.get(device) ?? this.#fromStatus(device);
    if (!reg) {
      logger.info({ device }, 'configuration changed but the phone is not registered: it fetches the file when it boots');
      metrics.resyncNotifies.inc({ result: 'not_registered' });
      return;
    }
    const attempts = this.#deps.attempts ?? 3;
    const sentAt = new Date().toISOString();
    const record = (acknowledgedAt: string | null) =>
      status.device(device, { lastResync: { sentAt, acknowledgedAt } }).catch((err: unknown) => logger.warn({ device, err: String(err) }, 'could not record re-sync'));
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const sent = sendCheckSync(proxy, reg.contact, { reboot: false, destination: { host: reg.source.address, port: reg.source.port, transport: reg.source.transport } });
        this.#deps.logins.notifySent(device);
        const response = await sent;
        if (response.status >= 200 && response.status < 300) {
          metrics.resyncNotifies.inc({ result: 'acknowledged' });
          await record(new Date().toISOString());
          return;
        }
        logger.info({ device, status: response.status }, 'phone refused check-sync');
        // A refusal is an answer: counted once as refused, not also as failed (no answer).
        metrics.resyncNotifies.inc({ result: 'refused' });
        await record(null);
        return;
      } catch (err) {
        // Timer F: the transaction already retransmitted for 32 s; the phone is not there.
        if (err instanceof SipTimeoutError) {
          logger.info({ device }, 'check-sync NOTIFY got no answer');
          break;
        }
        logger.info({ device, attempt, err: err instanceof Error ? err.message : String(err) }, 'check-sync NOTIFY could not be sent');
        if (attempt < attempts) await new Promise((r) => setTimeout(r, this.#deps.retryDelayMs ?? 1_000));
      }
    }
    metrics.resyncNotifies.inc({ result: 'failed' });
    await record(null);
  }

  /** After an edge restart the table is empty: the device's status still has the last binding. */
  #fromStatus(device: string) {
    const contact = this.#deps.view.device(device)?.status?.registration?.contact;
    const uri = contact ? tryParseUri(contact) : undefined;
    return contact && uri ? { contact, source: destinationOfUri(uri) } : undefined;
  }
}
