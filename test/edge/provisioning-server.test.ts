import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startProvisioningServer, type ProvisioningResult } from '../../src/edge/provisioning-server.ts';
import { PASSWORD_PLACEHOLDER } from '../../src/provisioning/placeholders.ts';

const run = promisify(execFile);

/** curl is a real HTTP Digest client, as a phone's provisioning client is. */
async function curl(url: string, user?: string): Promise<{ status: number; body: string; contentType: string }> {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code} %{content_type}', ...(user ? ['--digest', '-u', user] : []), url];
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
