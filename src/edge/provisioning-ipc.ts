import type { ProvisioningResult, ResolvedFile } from './provisioning-server.ts';

/**
 * Messages between the edge process and its provisioning workers. The edge keeps the informer
 * caches and the Secret reader; a worker holds no state, only an HTTP server that asks the edge for
 * each file and reports each outcome back, so there is one watch and one Secret cache per pod.
 */

/** Edge → worker. */
export type ToProvisioningWorker =
  | {
    type: 'init';
    host: string;
    port: number;
    realm: string;
    /** The Digest nonce key, base64: every worker must accept the nonces the others issue. */
    nonceKey: string;
    logBindings: Record<string, unknown>;
    logLevel: string;
  }
  | { type: 'resolved'; id: number; resolved: ResolvedFile | undefined }
  | { type: 'resolve-failed'; id: number; message: string }
  | { type: 'stop' };

/** Worker → edge. */
export type FromProvisioningWorker =
  | { type: 'listening'; port: number }
  | { type: 'resolve'; id: number; fileName: string; username: string }
  /** Outcomes since the last report, in order; sent once per turn of the worker's event loop. */
  | { type: 'results'; results: ProvisioningResult[] };
