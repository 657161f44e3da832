// A provisioning worker: one of the edge's HTTP processes, started by provisioning-workers.ts with
// node:cluster. It serves the phones' files from the copy the edge process keeps sending it.
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../log.ts';
import { KubeClient } from '../runtime/index.ts';
import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import type { FromProvisioningWorker, ToProvisioningWorker } from './provisioning-ipc.ts';
import { startProvisioningServer, type ProvisioningFile, type ProvisioningResult, type ProvisioningServer } from './provisioning-server.ts';
import { provisioningSource } from './provisioning-source.ts';
import { SecretReader } from './secret-reader.ts';

/** Outcomes reach the edge's metrics within this long. */
const REPORT_EVERY_MS = 200;

const send = (message: FromProvisioningWorker): Promise<void> => new Promise((resolve) => {
  if (!process.connected) return resolve();
  process.send!(message, undefined, {}, () => resolve());
});

const files = new Map<string, ProvisioningFile>();
let init: Extract<ToProvisioningWorker, { type: 'init' }> | undefined;
let server: ProvisioningServer | undefined;
let results: ProvisioningResult[] = [];

function report(result: ProvisioningResult): void {
  results.push(result);
}

function flushResults(): Promise<void> {
  if (results.length === 0) return Promise.resolve();
  const batch = results;
  results = [];
  return send({ type: 'results', results: batch });
}

async function serve(settings: NonNullable<typeof init>): Promise<void> {
  const log = createLogger('hotdesk-edge', { ...settings.logBindings, provisioningWorker: true }, { buffered: true });
  log.level = settings.logLevel;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(settings.kubeConfig);
  const secrets = new SecretReader(new KubeClient(kubeConfig, { fieldManager: EDGE_FIELD_MANAGER }), settings.namespace, settings.pool);
  server = await startProvisioningServer({
    host: settings.host,
    port: settings.port,
    realm: settings.realm,
    log,
    source: provisioningSource((fileName) => files.get(fileName), secrets),
    onRequest: report,
  });
  setInterval(() => void flushResults(), REPORT_EVERY_MS).unref();
  await send({ type: 'listening', port: server.port });
}

process.on('message', (message: ToProvisioningWorker) => {
  switch (message.type) {
    case 'init':
      init = message;
      break;
    case 'files':
      for (const [name, file] of message.upserts) files.set(name, file);
      for (const name of message.removals) files.delete(name);
      break;
    case 'serve':
      serve(init!).catch((err: unknown) => {
        process.stderr.write(`provisioning worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
      break;
    case 'stop':
      // Report the last outcomes before leaving, or the edge's counters would miss them.
      (server?.close() ?? Promise.resolve()).then(flushResults).finally(() => process.exit(0));
      break;
  }
});

// Without the edge process the copy goes stale: leave, and let the pod restart.
process.on('disconnect', () => process.exit(0));
