/** Self-signed certificates for tests, made by openssl: one EC key and certificate per call. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
}

/** A certificate for `commonName`, valid for 127.0.0.1 and localhost too. */
export async function selfSignedCertificate(commonName = 'edge.test'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'hotdesk-cert-'));
  try {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    await execFileAsync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName},DNS:localhost,IP:127.0.0.1`,
      '-keyout', keyFile, '-out', certFile,
    ]);
    return { cert: await readFile(certFile), key: await readFile(keyFile) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
