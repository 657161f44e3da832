import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { DigestNonces } from '../../src/edge/digest-auth.ts';
import type { ProvisioningResult, ResolvedFile } from '../../src/edge/provisioning-server.ts';
import { startProvisioningWorkers } from '../../src/edge/provisioning-workers.ts';
import { PASSWORD_PLACEHOLDER } from '../../src/provisioning/placeholders.ts';
import { eventually } from '../support/eventually.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const MAC = '0015651234ab';
const FILE = `${MAC}.cfg`;

function authorization(nonce: string, uri: string, password: string): string {
  const ha1 = md5(`${MAC}:hotdesk:${password}`);
  const response = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5(`GET:${uri}`)}`);
  return `Digest username="${MAC}", realm="hotdesk", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="c0ffee", response="${response}"`;
}

/** One request on a connection of its own, as a phone in a boot storm makes it. */
async function get(port: number, path: string, auth?: string): Promise<{ status: number; body: string; challenge: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close', ...(auth ? { authorization: auth } : {}) } });
  return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate') };
}

const liveWorkerPids = () => Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead()).map((w) => w!.process.pid!);

test('provisioning workers share the port and the nonce key, count every outcome, survive a killed worker and leave nothing behind', async () => {
  const key = randomBytes(32);
  const results: ProvisioningResult[] = [];
  let resolves = 0;
  let failNext = false;
  const server = await startProvisioningWorkers({
    count: 2,
    host: '127.0.0.1',
    log: pino({ level: 'silent' }),
    nonceKey: createSecretKey(key),
    restartDelayMs: 100,
    onRequest: (r) => results.push(r),
    source: {
      resolve: async (name, username): Promise<ResolvedFile | undefined> => {
        resolves++;
        if (failNext) {
          failNext = false;
          throw new Error('the API server is away');
        }
        if (name !== FILE) return undefined;
        const file = { device: 'default/desk-1', username: MAC, contentType: 'text/plain; charset=utf-8', content: `account.1.password = ${PASSWORD_PLACEHOLDER}\n` };
        return { file, secrets: username === MAC ? { provisioningPassword: 'prov-s3cret', placeholders: { password: 'sip-Pa55word' } } : undefined };
      },
    },
  });
  try {
    assert.equal(liveWorkerPids().length, 2);

    // A nonce made with the shared key is good at whichever worker the kernel hands the connection to.
    const nonce = new DigestNonces(createSecretKey(key)).issue();
    for (let i = 0; i < 12; i++) {
      const served = await get(server.port, `/${FILE}`, authorization(nonce, `/${FILE}`, 'prov-s3cret'));
      assert.equal(served.status, 200);
      assert.equal(served.body, 'account.1.password = sip-Pa55word\n');
    }
    // A phone's own round trip: challenged by one connection, answered on the next.
    const challenged = await get(server.port, `/${FILE}`);
    assert.equal(challenged.status, 401);
    const phoneNonce = /nonce="([^"]+)"/.exec(challenged.challenge ?? '')![1]!;
    assert.equal((await get(server.port, `/${FILE}`, authorization(phoneNonce, `/${FILE}`, 'prov-s3cret'))).status, 200);
    assert.equal((await get(server.port, `/${FILE}`, authorization(phoneNonce, `/${FILE}`, 'guess'))).status, 404);
    assert.equal((await get(server.port, '/001565ffffff.cfg', authorization(phoneNonce, '/001565ffffff.cfg', 'guess'))).status, 404);
    assert.equal((await get(server.port, `/${FILE}`, authorization(phoneNonce, '/other.cfg', 'prov-s3cret'))).status, 400, 'an answer made for another URL');
    failNext = true;
    assert.equal((await get(server.port, `/${FILE}`, authorization(phoneNonce, `/${FILE}`, 'prov-s3cret'))).status, 500, 'the edge could not look the file up');

    await eventually('every outcome counted in the edge process', async () => results.length === 18 || undefined, 5_000);
    const count = (r: ProvisioningResult) => results.filter((x) => x === r).length;
    assert.deepEqual({ served: count('served'), challenged: count('challenged'), denied: count('denied'), not_found: count('not_found'), error: count('error') },
      { served: 13, challenged: 1, denied: 2, not_found: 1, error: 1 });
    assert.equal(resolves, 16, 'each authenticated request asked the edge for its file');

    // A worker killed outright is replaced, and the port keeps answering meanwhile.
    const [victim] = liveWorkerPids();
    process.kill(victim!, 'SIGKILL');
    for (let i = 0; i < 4; i++) assert.equal((await get(server.port, `/${FILE}`, authorization(nonce, `/${FILE}`, 'prov-s3cret'))).status, 200);
    await eventually('a new worker in place of the killed one', async () => {
      const pids = liveWorkerPids();
      return pids.length === 2 && !pids.includes(victim!) || undefined;
    }, 10_000);
    const afterRestart = await get(server.port, `/${FILE}`, authorization(nonce, `/${FILE}`, 'prov-s3cret'));
    assert.equal(afterRestart.status, 200);
  } finally {
    await server.close();
  }
  assert.deepEqual(liveWorkerPids(), [], 'no worker outlives close()');
  await assert.rejects(get(server.port, `/${FILE}`), 'nothing listens after close()');
});
