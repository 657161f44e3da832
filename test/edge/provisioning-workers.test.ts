import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { DigestNonces } from '../../src/edge/digest-auth.ts';
import type { CatalogChange, FileCatalog } from '../../src/edge/provisioning-catalog.ts';
import type { ProvisioningFile, ProvisioningResult } from '../../src/edge/provisioning-server.ts';
import { startProvisioningWorkers } from '../../src/edge/provisioning-workers.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { PASSWORD_PLACEHOLDER } from '../../src/provisioning/placeholders.ts';
import { eventually } from '../support/eventually.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const MAC = '0015651234ab';
const FILE = `${MAC}.cfg`;
const NS = 'default';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['apply', '-f', '-'], { input: [
    'apiVersion: v1', 'kind: Secret', 'metadata: {name: desk-1-provisioning-auth, labels: {hotdesk.io/pool: office}}', 'stringData: {password: prov-s3cret}', '---',
    'apiVersion: v1', 'kind: Secret', 'metadata: {name: alice-sip, labels: {hotdesk.io/pool: office}}', 'stringData: {password: sip-Pa55word}',
  ].join('\n') });
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await cp?.stop();
});

/** The edge's catalog as the workers see it: a snapshot, then changes pushed to subscribers. */
class TestCatalog implements FileCatalog {
  readonly files = new Map<string, ProvisioningFile>();
  readonly #listeners = new Set<(c: CatalogChange) => void>();
  snapshot(): CatalogChange {
    return { upserts: [...this.files], removals: [] };
  }
  subscribe(listener: (c: CatalogChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  change(change: CatalogChange): void {
    for (const [name, file] of change.upserts) this.files.set(name, file);
    for (const name of change.removals) this.files.delete(name);
    for (const l of this.#listeners) l(change);
  }
}

const deskFile = (line: string): ProvisioningFile => ({
  device: 'default/desk-1', username: MAC, contentType: 'text/plain; charset=utf-8', content: `${line}\naccount.1.password = ${PASSWORD_PLACEHOLDER}\n`,
  passwordRef: { secret: 'alice-sip', key: 'password' }, authRef: { secret: 'desk-1-provisioning-auth', key: 'password' },
});

function authorization(nonce: string, uri: string, password: string): string {
  const ha1 = md5(`${MAC}:hotdesk:${password}`);
  const response = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5(`GET:${uri}`)}`);
  return `Digest username="${MAC}", realm="hotdesk", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="c0ffee", response="${response}"`;
}

const run = promisify(execFile);

/** curl answers its challenge on the same connection, as a phone does: one whole fetch. */
async function curlFile(port: number, password = 'prov-s3cret'): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', '--digest', '-u', `${MAC}:${password}`, `http://127.0.0.1:${port}/${FILE}`]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** One request on a connection of its own, as a phone in a boot storm makes it. */
async function get(port: number, path: string, auth?: string): Promise<{ status: number; body: string; challenge: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close', ...(auth ? { authorization: auth } : {}) } });
  return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate') };
}

const liveWorkerPids = () => Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead()).map((w) => w!.process.pid!);

test('provisioning workers serve the catalog with Secrets read from the API, follow its changes, count every outcome, survive a killed worker and leave nothing behind', { timeout: 60_000 }, async () => {
  const results: ProvisioningResult[] = [];
  const catalog = new TestCatalog();
  catalog.change({ upserts: [[FILE, deskFile('account.1.user_name = HD0001')]], removals: [] });
  const server = await startProvisioningWorkers({
    count: 2,
    host: '127.0.0.1',
    log: pino({ level: 'silent' }),
    catalog,
    kubeConfig: cp.kubeConfig,
    namespace: NS,
    pool: 'office',
    restartDelayMs: 100,
    onRequest: (r) => results.push(r),
  });
  try {
    assert.equal(liveWorkerPids().length, 2);
    const fetchFile = () => curlFile(server.port);

    // Whichever worker the kernel hands a connection to answers the challenge it issued there.
    for (let i = 0; i < 12; i++) {
      const served = await fetchFile();
      assert.equal(served.status, 200);
      assert.equal(served.body, 'account.1.user_name = HD0001\naccount.1.password = sip-Pa55word\n', 'the SIP password comes from its Secret');
    }
    const challenged = await get(server.port, `/${FILE}`);
    assert.equal(challenged.status, 401);
    const phoneNonce = /nonce="([^"]+)"/.exec(challenged.challenge ?? '')![1]!;
    assert.equal((await curlFile(server.port, 'guess')).status, 404);
    assert.equal((await get(server.port, '/001565ffffff.cfg', authorization(phoneNonce, '/001565ffffff.cfg', 'guess'))).status, 404);
    assert.equal((await get(server.port, `/${FILE}`, authorization(phoneNonce, '/other.cfg', 'prov-s3cret'))).status, 400, 'an answer made for another URL');
    // A nonce from another worker, pod or from before a restart: the phone is asked again, not refused.
    const foreign = await get(server.port, `/${FILE}`, authorization(new DigestNonces().issue(), `/${FILE}`, 'prov-s3cret'));
    assert.equal(foreign.status, 401);
    assert.match(foreign.challenge ?? '', /stale=true/);

    // A login re-renders the file: every worker serves the new one from then on.
    catalog.change({ upserts: [[FILE, deskFile('account.1.user_name = 101')]], removals: [] });
    await eventually('the new file at every worker', async () => {
      const bodies = await Promise.all(Array.from({ length: 6 }, () => fetchFile().then((r) => r.body)));
      return bodies.every((b) => b.startsWith('account.1.user_name = 101\n')) || undefined;
    }, 5_000);
    catalog.change({ upserts: [], removals: [FILE] });
    await eventually('the removed file gone at every worker', async () => {
      const statuses = await Promise.all(Array.from({ length: 6 }, () => fetchFile().then((r) => r.status)));
      return statuses.every((s) => s === 404) || undefined;
    }, 5_000);
    catalog.change({ upserts: [[FILE, deskFile('account.1.user_name = HD0001')]], removals: [] });

    // Each worker reports on its own clock: wait for both reports.
    const count = (r: ProvisioningResult) => results.filter((x) => x === r).length;
    await eventually('every outcome counted in the edge process', async () => (count('served') >= 13 && count('not_found') >= 1 && count('denied') >= 2 && count('challenged') >= 1) || undefined, 5_000);
    assert.equal(count('denied'), 2, 'a wrong password and an answer for another URL');

    // A worker killed outright is replaced, takes the catalog as it is now, and the port keeps answering meanwhile.
    const [victim] = liveWorkerPids();
    process.kill(victim!, 'SIGKILL');
    for (let i = 0; i < 4; i++) assert.equal((await fetchFile()).status, 200);
    await eventually('a new worker in place of the killed one', async () => {
      const pids = liveWorkerPids();
      return pids.length === 2 && !pids.includes(victim!) || undefined;
    }, 10_000);
    const bodies = await Promise.all(Array.from({ length: 6 }, () => fetchFile().then((r) => r.body)));
    assert.ok(bodies.every((b) => b.startsWith('account.1.user_name = HD0001\n')), 'the new worker serves the current file');
  } finally {
    await server.close();
  }
  assert.deepEqual(liveWorkerPids(), [], 'no worker outlives close()');
  await assert.rejects(get(server.port, `/${FILE}`), 'nothing listens after close()');
});
