import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CatalogChange, FileCatalog } from './provisioning-catalog.ts';
import { SNAPSHOT_PART, type FromProvisioningWorker, type ToProvisioningWorker } from './provisioning-ipc.ts';
import type { ProvisioningResult, ProvisioningServer } from './provisioning-server.ts';

export interface ProvisioningWorkersOptions {
  /** Worker processes; each accepts connections on the shared port. */
  count: number;
  catalog: FileCatalog;
  /** For the workers' own Secret reads. */
  kubeConfig: KubeConfig;
  namespace: string;
  /** The pool the edge serves: the workers read only Secrets labelled for it. */
  pool: string;
  log: Logger;
  realm?: string;
  host?: string;
  port?: number;
  onRequest?: (result: ProvisioningResult) => void;
  /** Wait before starting a worker again after it died. */
  restartDelayMs?: number;
}

const WORKER_ENTRY = fileURLToPath(new URL('./provisioning-worker.ts', import.meta.url));
const STOP_GRACE_MS = 5_000;

/**
 * Serves provisioning files from several worker processes sharing one port, so a boot storm of
 * phones uses more than one core and does not hold up the edge's SIP event loop. The workers
 * accept connections themselves (the kernel spreads them; no round trip through this process per
 * connection) and serve from the copy of the catalog this process keeps sending them, so no
 * request waits on this process either. A worker that dies is started again.
 *
 * Each worker keeps its own Digest nonces and their counts (digest-auth.ts), so a replayed header
 * cannot be accepted once per worker. A phone answering its challenge on the same keep-alive
 * connection (as phones and curl do) stays with the worker that issued the nonce; one answering on
 * a new connection that lands on another worker is challenged once more (stale=true).
 */
export async function startProvisioningWorkers(opts: ProvisioningWorkersOptions): Promise<ProvisioningServer> {
  // Each worker accepts on the shared socket, rather than the primary accepting and handing every
  // connection over, which halved the rate of short connections here.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: WORKER_ENTRY, execArgv: [], silent: false, serialization: 'advanced' });

  const workers = new Set<Worker>();
  let port = opts.port ?? 0;
  let closing = false;
  // The worker's own pid goes on its lines, not the edge's.
  const { pid: _edgePid, ...logBindings } = opts.log.bindings();
  const init: ToProvisioningWorker = {
    type: 'init',
    host: opts.host ?? '0.0.0.0',
    port: opts.port ?? 0,
    realm: opts.realm ?? 'hotdesk',
    kubeConfig: opts.kubeConfig.exportConfig(),
    namespace: opts.namespace,
    pool: opts.pool,
    logBindings,
    logLevel: opts.log.level,
  };

  const send = (worker: Worker, message: ToProvisioningWorker) => {
    if (worker.isConnected()) worker.send(message);
  };
  const sendChange = (worker: Worker, change: CatalogChange) => {
    for (let i = 0; i < Math.max(change.upserts.length, change.removals.length); i += SNAPSHOT_PART) {
      send(worker, { type: 'files', upserts: change.upserts.slice(i, i + SNAPSHOT_PART), removals: change.removals.slice(i, i + SNAPSHOT_PART) });
    }
  };

  const fork = (): Promise<void> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    workers.add(worker);
    let unsubscribe = () => {};
    let listening = false;
    worker.on('message', (message: FromProvisioningWorker) => {
      if (message.type === 'listening' && !listening) {
        listening = true;
        // Workers ask for the configured port, even 0: node:cluster shares one socket per request
        // as asked, so a replacement worker joins the others' socket rather than binding anew.
        port = message.port;
        resolve();
      } else if (message.type === 'results') {
        for (const result of message.results) opts.onRequest?.(result);
      }
    });
    worker.once('online', () => {
      send(worker, init);
      // Snapshot and subscription in one go: no change can fall between them.
      sendChange(worker, opts.catalog.snapshot());
      unsubscribe = opts.catalog.subscribe((change) => sendChange(worker, change));
      send(worker, { type: 'serve' });
    });
    worker.once('exit', (code, signal) => {
      unsubscribe();
      workers.delete(worker);
      if (!listening) reject(new Error(`provisioning worker exited before listening (code ${code}, signal ${signal})`));
      if (closing) return;
      opts.log.warn({ pid: worker.process.pid, code, signal }, 'provisioning worker died; starting another');
      setTimeout(() => {
        if (!closing) fork().catch((err: unknown) => opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'provisioning worker failed to start'));
      }, opts.restartDelayMs ?? 1_000).unref();
    });
  });

  try {
    await Promise.all(Array.from({ length: opts.count }, fork));
  } catch (err) {
    closing = true;
    for (const worker of workers) worker.process.kill('SIGKILL');
    throw err;
  }

  return {
    get port() {
      return port;
    },
    close: async () => {
      closing = true;
      await Promise.all([...workers].map((worker) => new Promise<void>((resolve) => {
        if (worker.isDead()) return resolve();
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
        worker.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        send(worker, { type: 'stop' });
      })));
    },
  };
}
