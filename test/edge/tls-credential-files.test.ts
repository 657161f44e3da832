import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { readTlsCredentialsSync, watchTlsCredentialFiles, type TlsCredentials } from '../../src/edge/tls-credential-files.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { selfSignedCertificate, type TestCertificate } from '../e2e/tls-certificate.ts';
import { eventually } from '../support/eventually.ts';

let first: TestCertificate;
let renewed: TestCertificate;
let dir: string;
before(async () => {
  [first, renewed] = await Promise.all([selfSignedCertificate('first.test'), selfSignedCertificate('renewed.test')]);
  dir = await mkdtemp(join(tmpdir(), 'hotdesk-tls-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A Secret volume as kubelet lays it out: the files are symlinks through `..data`, which points at
 * a timestamped folder and is swapped in one rename when the Secret changes.
 */
async function secretVolume(name: string, pair: { cert: Buffer; key: Buffer }): Promise<{ files: { certFile: string; keyFile: string }; update(pair: { cert: Buffer; key: Buffer }): Promise<void> }> {
  const volume = join(dir, name);
  await mkdir(volume);
  let generation = 0;
  const update = async (next: { cert: Buffer; key: Buffer }) => {
    const folder = `..gen_${++generation}`;
    await mkdir(join(volume, folder));
    await writeFile(join(volume, folder, 'tls.crt'), next.cert);
    await writeFile(join(volume, folder, 'tls.key'), next.key);
    await symlink(folder, join(volume, '..data_tmp'));
    await rename(join(volume, '..data_tmp'), join(volume, '..data'));
  };
  await update(pair);
  await symlink('..data/tls.crt', join(volume, 'tls.crt'));
  await symlink('..data/tls.key', join(volume, 'tls.key'));
  return { files: { certFile: join(volume, 'tls.crt'), keyFile: join(volume, 'tls.key') }, update };
}

test('a renewed Secret is picked up once; a pair that does not match is reported once and not used', async () => {
  const volume = await secretVolume('renewal', first);
  const current = readTlsCredentialsSync(volume.files);
  const renewals: TlsCredentials[] = [];
  const problems: string[] = [];
  const stop = watchTlsCredentialFiles({ files: volume.files, current, intervalMs: 20, onRenewed: (c) => renewals.push(c), onProblem: (p) => problems.push(p.message) });
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(renewals.length, 0, 'unchanged files change nothing');

    await volume.update({ cert: renewed.cert, key: first.key });
    await eventually('the mismatch reported', () => problems.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(problems.length, 1, 'once, not every minute');
    assert.match(problems[0]!, /are not a usable pair/);
    assert.doesNotMatch(problems[0]!, /PRIVATE KEY|BEGIN/);
    assert.equal(renewals.length, 0);

    await volume.update(renewed);
    await eventually('the renewal applied', () => renewals.length === 1);
    assert.ok(renewals[0]!.cert.equals(renewed.cert) && renewals[0]!.key.equals(renewed.key));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(renewals.length, 1);
  } finally {
    stop();
  }
});

test('reading the pair at start-up: a missing file or a broken pair is an error that names the file', async () => {
  const volume = await secretVolume('startup', first);
  const cases: Array<{ name: string; files: { certFile: string; keyFile: string }; error: RegExp }> = [
    { name: 'missing certificate', files: { ...volume.files, certFile: join(dir, 'nope.crt') }, error: /cannot read the TLS certificate file .*nope\.crt \(ENOENT\)/ },
    { name: 'missing key', files: { ...volume.files, keyFile: join(dir, 'nope.key') }, error: /cannot read the TLS key file .*nope\.key \(ENOENT\)/ },
    { name: 'certificate in place of the key', files: { certFile: volume.files.certFile, keyFile: volume.files.certFile }, error: /are not a usable pair/ },
  ];
  for (const c of cases) assert.throws(() => readTlsCredentialsSync(c.files), c.error, c.name);
  assert.ok(readTlsCredentialsSync(volume.files).cert.equals(first.cert));
});

const EDGE = new URL('../../src/cmd/edge.ts', import.meta.url).pathname;

function runEdge(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EDGE], { env: { PATH: process.env.PATH ?? '', HOTDESK_POOL: 'office', HOTDESK_NAMESPACE: 'net', ...env }, timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

test('the edge refuses to start with TLS half configured, saying why and quoting no key', async () => {
  const volume = await secretVolume('env', first);
  const cases: Array<{ env: Record<string, string>; error: RegExp }> = [
    { env: { HOTDESK_SIP_TLS_PORT: '5061' }, error: /HOTDESK_SIP_TLS_PORT is set: set HOTDESK_SIP_TLS_CERT_FILE and HOTDESK_SIP_TLS_KEY_FILE/ },
    { env: { HOTDESK_SIP_TLS_PORT: 'tls', HOTDESK_SIP_TLS_CERT_FILE: volume.files.certFile, HOTDESK_SIP_TLS_KEY_FILE: volume.files.keyFile }, error: /HOTDESK_SIP_TLS_PORT must be a port number/ },
    { env: { HOTDESK_SIP_TLS_PORT: '5061', HOTDESK_SIP_TLS_CERT_FILE: join(dir, 'absent.crt'), HOTDESK_SIP_TLS_KEY_FILE: volume.files.keyFile }, error: /cannot read the TLS certificate file .*absent\.crt/ },
    { env: { HOTDESK_SIP_TLS_PORT: '5061', HOTDESK_SIP_TLS_CERT_FILE: volume.files.keyFile, HOTDESK_SIP_TLS_KEY_FILE: volume.files.keyFile }, error: /are not a usable pair/ },
  ];
  for (const c of cases) {
    const { code, stderr } = await runEdge(c.env);
    assert.equal(code, 2, stderr);
    assert.match(stderr, c.error);
    assert.doesNotMatch(stderr, /PRIVATE KEY|BEGIN/);
  }
});

function peerCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

test('the SIP TLS listener serves a renewed certificate to new connections without a restart', async () => {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, tls: { port: 0, ...first } });
  await proxy.listen();
  try {
    const port = proxy.address('tls').port;
    assert.equal((await peerCertificate(port)).subject.CN, 'first.test');
    proxy.setTlsCredentials(renewed);
    assert.equal((await peerCertificate(port)).subject.CN, 'renewed.test');
    assert.throws(() => proxy.setTlsCredentials({ cert: first.cert, key: renewed.key }));
    assert.equal((await peerCertificate(port)).subject.CN, 'renewed.test', 'a broken pair changes nothing');
  } finally {
    await proxy.close();
  }
});
