import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../log.ts';
import { TurnBatch, type FileAnswer, type FromProvisioningWorker, type ToProvisioningWorker } from './provisioning-ipc.ts';
import type { ProvisioningResult, ProvisioningServer, ProvisioningSource, ResolvedFile } from './provisioning-server.ts';

export interface ProvisioningWorkersOptions {
  /** Worker processes; each accepts connections on the shared port. */
  count: number;
  source: ProvisioningSource;
  log: Logger;
  nonceKey: KeyObject;
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
 * connection) and ask this process, which holds the caches, for each file. A worker that dies is
 * started again.
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
    nonceKey: opts.nonceKey.export().toString('base64'),
    logBindings,
    logLevel: opts.log.level,
  };

  const send = (worker: Worker, message: ToProvisioningWorker) => {
    if (worker.isConnected()) worker.send(message);
  };
  const outboxes = new WeakMap<Worker, TurnBatch<FileAnswer>>();

  const onBatch = (worker: Worker, batch: Extract<FromProvisioningWorker, { type: 'batch' }>) => {
    for (const result of batch.results) opts.onRequest?.(result);
    const outbox = outboxes.get(worker)!;
    for (const { id, fileName, username } of batch.lookups) {
      const failed = (err: unknown) => outbox.push({ id, error: err instanceof Error ? err.message : String(err) });
      try {
        const resolved = opts.source.resolve(fileName, username);
        if (resolved instanceof Promise) resolved.then((r: ResolvedFile | undefined) => outbox.push({ id, resolved: r }), failed);
        else outbox.push({ id, resolved });
      } catch (err) {
        failed(err);
      }
    }
    // What the cache answered at once goes back now, in one message.
    outbox.flush();
  };

  const fork = (): Promise<void> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    workers.add(worker);
    outboxes.set(worker, new TurnBatch((answers) => send(worker, { type: 'answers', answers })));
    let listening = false;
    worker.on('message', (message: FromProvisioningWorker) => {
      if (message.type === 'listening' && !listening) {
        listening = true;
        // Workers ask for the configured port, even 0: node:cluster shares one socket per request
        // as asked, so a replacement worker joins the others' socket rather than binding anew.
        port = message.port;
        resolve();
      } else if (message.type === 'batch') onBatch(worker, message);
    });
    worker.once('online', () => send(worker, init));
    worker.once('exit', (code, signal) => {
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
