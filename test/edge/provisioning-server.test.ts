import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startProvisioningServer, type ProvisioningResult } from '../../src/edge/provisioning-server.ts';
import { PASSWORD_PLACEHOLDER } from '../../src/provisioning/placeholders.ts';

const run = promisify(execFile);

/** curl is a real HTTP Digest client, as a phone's provisioning client is. */
async function curl(url: string, user?: string, extra: string[] = []): Promise<{ status: number; body: string; contentType: string }> {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code} %{content_type}', ...(user ? ['--digest', '-u', user] : []), ...extra, url];
  const { stdout } = await run('curl', args);
  const cut = stdout.lastIndexOf('\n');
  const [status, contentType] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), body: stdout.slice(0, cut), contentType: contentType ?? '' };
}

test('the provisioning server fills credentials for an authenticated phone and hides which MACs exist', async () => {
  const logged: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
  const results: ProvisioningResult[] = [];
  const server = await startProvisioningServer({
    host: '127.0.0.1',
    log,
    onRequest: (r) => results.push(r),
    source: {
      resolve: async (name, username) => {
        if (name !== '0015651234ab.cfg') return undefined;
        const file = { device: 'default/desk-1', username: '0015651234ab', contentType: 'text/plain; charset=utf-8', content: `account.1.password = ${PASSWORD_PLACEHOLDER}\n` };
        return { file, secrets: username === file.username ? { provisioningPassword: 'prov-s3cret', placeholders: { password: 'sip-Pa55word' } } : undefined };
      },
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const served = await curl(`${base}/0015651234ab.cfg`, '0015651234ab:prov-s3cret');
    assert.equal(served.status, 200);
    assert.equal(served.body, 'account.1.password = sip-Pa55word\n');
    assert.match(served.contentType, /^text\/plain/);

    const anonymous = await curl(`${base}/0015651234ab.cfg`);
    assert.equal(anonymous.status, 401, 'no credentials: challenged');

    const wrongPassword = await curl(`${base}/0015651234ab.cfg`, '0015651234ab:guess');
    const unknownMac = await curl(`${base}/001565ffffff.cfg`, '001565ffffff:guess');
    assert.equal(wrongPassword.status, 404);
    assert.equal(unknownMac.status, 404);
    assert.equal(wrongPassword.body, unknownMac.body, 'a wrong password and an unknown MAC look the same');

    const otherDevicesName = await curl(`${base}/0015651234ab.cfg`, '001565ffffff:prov-s3cret');
    assert.equal(otherDevicesName.status, 404, 'one phone cannot fetch another phone\'s file');

    // curl, like a phone, first asks without credentials and answers the challenge.
    assert.deepEqual(results.filter((r) => r !== 'challenged'), ['served', 'denied', 'not_found', 'denied']);
    const log_ = logged.join('');
    assert.doesNotMatch(log_, /sip-Pa55word|prov-s3cret/, 'the access log holds no secret');
    assert.match(log_, /"path":"\/0015651234ab.cfg".*"status":200/);
  } finally {
    await server.close();
  }
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What a phone sends after its challenge, computed as RFC 7616 §3.4.1 says. */
function authorization(o: { nonce: string; uri: string; password: string; nc: string; algorithm?: string; qop?: string; h?: (s: string) => string }): string {
  const h = o.h ?? md5;
  const qop = o.qop ?? 'auth';
  const ha1 = h(`${MAC}:hotdesk:${o.password}`);
  const response = h(`${ha1}:${o.nonce}:${o.nc}:c0ffee:${qop}:${h(`GET:${o.uri}`)}`);
  return `Digest username="${MAC}", realm="hotdesk", nonce="${o.nonce}", uri="${o.uri}", qop=${qop}, nc=${o.nc}, cnonce="c0ffee", response="${response}"${o.algorithm ? `, algorithm=${o.algorithm}` : ''}`;
}

const MAC = '0015651234ab';
const FILE_BODY = 'account.1.password = sip-Pa55word\n';

test('strict Digest: a replayed header, a count going back, auth-int, -sess and mismatched algorithms are refused; SHA-256 works; only /<file> names a file', async () => {
  const results: ProvisioningResult[] = [];
  const server = await startProvisioningServer({
    host: '127.0.0.1',
    log: pino({ level: 'silent' }),
    onRequest: (r) => results.push(r),
    source: {
      resolve: (name, username) => {
        if (name !== `${MAC}.cfg`) return undefined;
        const file = { device: 'default/desk-1', username: MAC, contentType: 'text/plain', content: `account.1.password = ${PASSWORD_PLACEHOLDER}\n` };
        return { file, secrets: username === MAC ? { provisioningPassword: 'prov-s3cret', placeholders: { password: 'sip-Pa55word' } } : undefined };
      },
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const uri = `/${MAC}.cfg`;
  // One keep-alive connection, as a phone keeps: the answer reaches the process that issued the nonce.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, auth?: string) => new Promise<{ status: number; body: string; challenges: string[] }>((resolve, reject) => {
    // Options rather than a URL: a URL would have its dot segments and escapes normalised away.
    httpGet({ host: '127.0.0.1', port: server.port, path, agent, headers: auth ? { authorization: auth } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        // Raw: node:http joins repeated WWW-Authenticate fields into one string.
        const challenges = res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'www-authenticate');
        resolve({ status: res.statusCode ?? 0, body, challenges });
      });
    }).on('error', reject);
  });
  const freshNonce = async () => {
    const c = await get(uri);
    assert.equal(c.status, 401);
    return /nonce="([^"]+)"/.exec(c.challenges[0] ?? '')![1]!;
  };
  try {
    const first = await get(uri);
    assert.deepEqual(first.challenges.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1]), ['MD5', 'SHA-256'], 'MD5 first, for phones that read only the first challenge');
    const nonce = /nonce="([^"]+)"/.exec(first.challenges[0]!)![1]!;

    const captured = authorization({ nonce, uri, password: 'prov-s3cret', nc: '00000001' });
    assert.deepEqual(await get(uri, captured).then((r) => [r.status, r.body]), [200, FILE_BODY]);
    const replayed = await get(uri, captured);
    assert.equal(replayed.status, 401, 'the same Authorization again');
    assert.match(replayed.challenges[0] ?? '', /stale=true/);
    assert.doesNotMatch(replayed.body, /sip-Pa55word/);
    assert.equal((await get(uri, authorization({ nonce, uri, password: 'prov-s3cret', nc: '00000002' }))).status, 200, 'the next count on the same nonce');
    assert.equal((await get(uri, authorization({ nonce, uri, password: 'prov-s3cret', nc: '00000001' }))).status, 401, 'a count going back');
    assert.equal((await get(uri, authorization({ nonce, uri, password: 'prov-s3cret', nc: 'zzzzzzzz' }))).status, 404, 'a garbage count');

    const sha = await freshNonce();
    assert.equal((await get(uri, authorization({ nonce: sha, uri, password: 'prov-s3cret', nc: '00000001', algorithm: 'SHA-256', h: sha256 }))).status, 200, 'SHA-256 answered with SHA-256');
    assert.equal((await get(uri, authorization({ nonce: sha, uri, password: 'prov-s3cret', nc: '00000002', algorithm: 'SHA-256' }))).status, 404, 'SHA-256 named, MD5 answer');
    assert.equal((await get(uri, authorization({ nonce: sha, uri, password: 'prov-s3cret', nc: '00000003', algorithm: 'MD5-sess' }))).status, 404, 'MD5-sess');
    assert.equal((await get(uri, authorization({ nonce: sha, uri, password: 'prov-s3cret', nc: '00000004', qop: 'auth-int' }))).status, 404, 'auth-int');

    for (const path of [`/${uri}`, `/foo/bar${uri}`, `/..${uri}`, `/%2e%2e%2f${MAC}.cfg`, `/a%2f${MAC}.cfg`, '/', '/..']) {
      const n = await freshNonce();
      const r = await get(path, authorization({ nonce: n, uri: path, password: 'prov-s3cret', nc: '00000001' }));
      assert.equal(r.status, 404, `${path} names no file`);
      assert.doesNotMatch(r.body, /sip-Pa55word/);
    }
    // curl sends these paths as given with --path-as-is; it answers the challenge on its own.
    for (const path of [`//${MAC}.cfg`, `/foo/bar/${MAC}.cfg`, `/../${MAC}.cfg`]) {
      const r = await curl(`${base}${path}`, `${MAC}:prov-s3cret`, ['--path-as-is']);
      assert.equal(r.status, 404, `curl ${path}`);
    }
    assert.equal((await curl(`${base}${uri}`, `${MAC}:prov-s3cret`)).status, 200, 'curl, a real Digest client, is still served');
  } finally {
    agent.destroy();
    await server.close();
  }
  assert.ok(!results.includes('error'));
});
