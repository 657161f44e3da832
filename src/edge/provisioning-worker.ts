// A provisioning worker: one of the edge's HTTP processes, started by provisioning-workers.ts with
// node:cluster. It serves the phones' files, asking the edge process for each one.
import { createSecretKey } from 'node:crypto';
import { createLogger } from '../log.ts';
import type { FromProvisioningWorker, ToProvisioningWorker } from './provisioning-ipc.ts';
import { startProvisioningServer, type ProvisioningResult, type ProvisioningServer, type ResolvedFile } from './provisioning-server.ts';

const send = (message: FromProvisioningWorker) => {
  if (process.connected) process.send!(message);
};

const pending = new Map<number, { resolve: (r: ResolvedFile | undefined) => void; reject: (err: Error) => void }>();
let nextId = 0;
let server: ProvisioningServer | undefined;
let unreported: ProvisioningResult[] = [];

/** Outcomes go to the edge's metrics in one message per event-loop turn, not one per request. */
function report(result: ProvisioningResult): void {
  if (unreported.length === 0) setImmediate(() => void flushResults());
  unreported.push(result);
}

function flushResults(): Promise<void> {
  const results = unreported;
  unreported = [];
  if (results.length === 0 || !process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!({ type: 'results', results } satisfies FromProvisioningWorker, undefined, {}, () => resolve()));
}

function resolveThroughEdge(fileName: string, username: string): Promise<ResolvedFile | undefined> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ type: 'resolve', id, fileName, username });
  });
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
    source: { resolve: resolveThroughEdge },
    onRequest: report,
  });
  send({ type: 'listening', port: server.port });
}

process.on('message', (message: ToProvisioningWorker) => {
  switch (message.type) {
    case 'init':
      start(message).catch((err: unknown) => {
        process.stderr.write(`provisioning worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
      break;
    case 'resolved':
      pending.get(message.id)?.resolve(message.resolved);
      pending.delete(message.id);
      break;
    case 'resolve-failed':
      pending.get(message.id)?.reject(new Error(message.message));
      pending.delete(message.id);
      break;
    case 'stop':
      // Report the last outcomes before leaving, or the edge's counters would miss them.
      (server?.close() ?? Promise.resolve()).then(flushResults).finally(() => process.exit(0));
      break;
  }
});

// Without the edge process there is no file to serve: leave, and let the pod restart.
process.on('disconnect', () => process.exit(0));
