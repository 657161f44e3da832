import type { CatalogChange } from './provisioning-catalog.ts';
import type { ProvisioningResult } from './provisioning-server.ts';

/**
 * Messages between the edge process and its provisioning workers. The edge watches the API and
 * sends each worker the pool's servable files (a snapshot, then every change); a worker serves
 * from that copy and reads Secrets itself, so no request waits on another process. Workers report
 * outcomes back for the edge's metrics.
 */

/** Edge → worker. */
export type ToProvisioningWorker =
  | {
    type: 'init';
    host: string;
    port: number;
    realm: string;
    /** The edge's kubeconfig (exported), for reading Secrets; a Secret's value never crosses this channel. */
    kubeConfig: string;
    namespace: string;
    /** The edge's pool: a Secret is read only when labelled for it. */
    pool: string;
    logBindings: Record<string, unknown>;
    logLevel: string;
  }
  | ({ type: 'files' } & CatalogChange)
  /** The snapshot is complete: start serving. */
  | { type: 'serve' }
  | { type: 'stop' };

/** Worker → edge. */
export type FromProvisioningWorker =
  | { type: 'listening'; port: number }
  /** Outcomes of finished requests since the last report. */
  | { type: 'results'; results: ProvisioningResult[] };

/** A snapshot goes over in parts, so neither process builds one message of every file. */
export const SNAPSHOT_PART = 500;
