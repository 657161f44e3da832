import type { ProvisioningResult, ResolvedFile } from './provisioning-server.ts';

/**
 * Messages between the edge process and its provisioning workers. The edge keeps the informer
 * caches and the Secret reader; a worker holds no state, only an HTTP server that asks the edge for
 * each file and reports each outcome back, so there is one watch and one Secret cache per pod.
 * Both sides send what piled up during one turn of their event loop as one message: in a boot
 * storm that is many requests per message, and far fewer pipe writes and wake-ups.
 */

export interface FileLookup {
  id: number;
  fileName: string;
  username: string;
}

export type FileAnswer = { id: number; resolved: ResolvedFile | undefined } | { id: number; error: string };

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
  | { type: 'answers'; answers: FileAnswer[] }
  | { type: 'stop' };

/** Worker → edge. */
export type FromProvisioningWorker =
  | { type: 'listening'; port: number }
  /** Files to look up, and outcomes of finished requests in order. */
  | { type: 'batch'; lookups: FileLookup[]; results: ProvisioningResult[] };

/** Collects items and hands them over together once the current event-loop turn is done. */
export class TurnBatch<T> {
  #items: T[] = [];
  readonly #send: (items: T[]) => void;

  constructor(send: (items: T[]) => void) {
    this.#send = send;
  }

  push(item: T): void {
    if (this.#items.length === 0) setImmediate(() => this.flush());
    this.#items.push(item);
  }

  /** Hands over what is pending now. */
  flush(): void {
    const items = this.#items;
    this.#items = [];
    if (items.length > 0) this.#send(items);
  }
}
