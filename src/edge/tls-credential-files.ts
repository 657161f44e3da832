/**
 * The edge's TLS certificate and key for phones, read from PEM files (a kubernetes.io/tls Secret
 * mounted at /etc/hotdesk/sip-tls/), and re-read while the edge runs: kubelet replaces a Secret
 * volume's contents when the Secret changes (a renewed certificate), by swapping a symlink, so the
 * same paths then hold the new pair. A pair is only used once it loads as one (the key matches the
 * certificate); a half-swapped or broken pair keeps the current one. Errors name the files, never
 * their contents.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

export interface TlsCredentialFiles {
  certFile: string;
  keyFile: string;
}

function readProblem(file: string, what: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return new Error(`cannot read the TLS ${what} file ${file}${code ? ` (${code})` : ''}`);
}

/** Throws, naming the files, when the pair does not load as a certificate with its key. */
export function checkTlsCredentials(credentials: TlsCredentials, files: TlsCredentialFiles): void {
  try {
    createSecureContext({ cert: credentials.cert, key: credentials.key });
  } catch (err) {
    // OpenSSL's words ("key values mismatch", "no start line") say what is wrong without quoting the key.
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`the TLS certificate ${files.certFile} and key ${files.keyFile} are not a usable pair: ${why}`);
  }
}

/** Reads and checks the pair now (at start-up). */
export function readTlsCredentialsSync(files: TlsCredentialFiles): TlsCredentials {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
  } catch (err) {
    throw readProblem(files.certFile, 'certificate', err);
  }
  try {
    key = readFileSync(files.keyFile);
  } catch (err) {
    throw readProblem(files.keyFile, 'key', err);
  }
  const credentials = { cert, key };
  checkTlsCredentials(credentials, files);
  return credentials;
}

async function readTlsCredentials(files: TlsCredentialFiles): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([
    readFile(files.certFile).catch((err: unknown) => Promise.reject(readProblem(files.certFile, 'certificate', err))),
    readFile(files.keyFile).catch((err: unknown) => Promise.reject(readProblem(files.keyFile, 'key', err))),
  ]);
  return { cert, key };
}

export function sameCredentials(a: TlsCredentials, b: TlsCredentials): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key);
}

export interface TlsCredentialWatch {
  files: TlsCredentialFiles;
  /** The pair in use now. */
  current: TlsCredentials;
  intervalMs: number;
  /** A new pair that loads: put it in use. */
  onRenewed: (credentials: TlsCredentials) => void;
  /** The files changed but cannot be used (yet); reported once per distinct problem. */
  onProblem: (problem: Error) => void;
}

/** Re-reads the files every `intervalMs`; returns the function that stops it. */
export function watchTlsCredentialFiles(watch: TlsCredentialWatch): () => void {
  let current = watch.current;
  let lastProblem: string | undefined;
  let running = false;
  const check = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const next = await readTlsCredentials(watch.files);
      if (sameCredentials(next, current)) {
        lastProblem = undefined;
        return;
      }
      checkTlsCredentials(next, watch.files);
      watch.onRenewed(next);
      current = next;
      lastProblem = undefined;
    } catch (err) {
      const problem = err instanceof Error ? err : new Error(String(err));
      if (problem.message !== lastProblem) watch.onProblem(problem);
      lastProblem = problem.message;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), watch.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
