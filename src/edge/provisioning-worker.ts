// A provisioning worker: one of the edge's HTTP processes, started by provisioning-workers.ts with
// node:cluster. It serves the phones' files, asking the edge process for each one.
import { createSecretKey } from 'node:crypto';
import { accessLogger, createLogger } from '../log.ts';
import { TurnBatch, type FileLookup, type FromProvisioningWorker, type ToProvisioningWorker } from './provisioning-ipc.ts';
import { startProvisioningServer, type ProvisioningResult, type ProvisioningServer, type ResolvedFile } from './provisioning-server.ts';

const send = (message: FromProvisioningWorker): Promise<void> => new Promise((resolve) => {
  if (!process.connected) return resolve();
  process.send!(message, undefined, {}, () => resolve());
});

const pending = new Map<number, { resolve: (r: ResolvedFile | undefined) => void; reject: (err: Error) => void }>();
let nextId = 0;
let server: ProvisioningServer | undefined;
let lookups: FileLookup[] = [];
let results: ProvisioningResult[] = [];

/** Lookups and outcomes of one event-loop turn travel to the edge together. */
const outgoing = new TurnBatch<true>(() => {
  const batch: FromProvisioningWorker = { type: 'batch', lookups, results };
  lookups = [];
  results = [];
  void send(batch);
});

function resolveThroughEdge(fileName: string, username: string): Promise<ResolvedFile | undefined> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    lookups.push({ id, fileName, username });
    outgoing.push(true);
  });
}

function report(result: ProvisioningResult): void {
  results.push(result);
  outgoing.push(true);
}

async function start(init: Extract<ToProvisioningWorker, { type: 'init' }>): Promise<void> {
  const log = createLogger('hotdesk-edge', { ...init.logBindings, provisioningWorker: true }, { buffered: true });
  log.level = init.logLevel;
  server = await startProvisioningServer({
    host: init.host,
    port: init.port,
    realm: init.realm,
    nonceKey: createSecretKey(Buffer.from(init.nonceKey, 'base64')),
    log,
    accessLog: accessLogger(log),
    source: { resolve: resolveThroughEdge },
    onRequest: report,
  });
  await send({ type: 'listening', port: server.port });
}

process.on('message', (message: ToProvisioningWorker) => {
  switch (message.type) {
    case 'init':
      start(message).catch((err: unknown) => {
        process.stderr.write(`provisioning worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
      break;
    case 'answers':
      for (const answer of message.answers) {
        const waiting = pending.get(answer.id);
        pending.delete(answer.id);
        if ('error' in answer) waiting?.reject(new Error(answer.error));
        else waiting?.resolve(answer.resolved);
      }
      break;
    case 'stop':
      // Report the last outcomes before leaving, or the edge's counters would miss them.
      (server?.close() ?? Promise.resolve())
        .then(() => send({ type: 'batch', lookups: [], results: results.splice(0) }))
        .finally(() => process.exit(0));
      break;
  }
});

// Without the edge process there is no file to serve: leave, and let the pod restart.
process.on('disconnect', () => process.exit(0));
