import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { API_GROUP } from '../api/group.ts';
import { resolveAssets } from './assets.ts';
import { freePort } from './ports.ts';
import { runCommand, type CommandResult } from './command.ts';

export interface KubectlOptions {
  input?: string;
  namespace?: string;
}

/** A running Kubernetes API (embedded etcd + kube-apiserver, or an existing cluster). */
export interface ControlPlane {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  /** Where kubectl (and helm, when built) live. */
  binDir: string;
  kubectl(args: string[], opts?: KubectlOptions): Promise<CommandResult>;
  /** Stops kube-apiserver and starts it again on the same port and etcd: watches see an outage. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Apply crds/*.yaml and wait until they are Established. Default true. */
  installCrds?: boolean;
  /** Folder of CRD manifests; defaults to the repository's crds/. */
  crdDir?: string;
  /** Show the apiserver's and etcd's own logs on stderr. */
  verbose?: boolean;
}

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const STOP_GRACE_MS = 5_000;

/**
 * Starts a throwaway control plane on loopback, the way controller-runtime's envtest does.
 * With HOTDESK_KUBECONFIG set, uses that cluster instead and starts nothing.
 */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const installCrds = opts.installCrds ?? true;
  const crdDir = opts.crdDir ?? join(REPO_ROOT, 'crds');
  const existing = process.env.HOTDESK_KUBECONFIG;
  const plane = existing ? await attachToCluster(existing) : await startEmbedded(opts.verbose ?? false);
  try {
    if (installCrds) await applyCrds(plane, crdDir);
  } catch (err) {
    await plane.stop();
    throw err;
  }
  return plane;
}

async function attachToCluster(kubeconfigPath: string): Promise<ControlPlane> {
  const binDir = resolveAssets({ require: ['kubectl'], allowMissing: true });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kubeConfig,
    server: kubeConfig.getCurrentCluster()?.server ?? '',
    binDir,
    kubectl: (args, o) => kubectl(binDir, kubeconfigPath, args, o),
    restartApiServer: () => Promise.reject(new Error('cannot restart the API server of an existing cluster (HOTDESK_KUBECONFIG)')),
    stop: async () => {},
  };
}

async function startEmbedded(verbose: boolean): Promise<ControlPlane> {
  const binDir = resolveAssets({ require: ['etcd', 'kube-apiserver', 'kubectl'] });
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-envtest-'));
  const children = new Set<ChildProcess>();
  const killAll = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
  // Leave no process behind even when the test process dies without calling stop(): on exit, and
  // on SIGTERM/SIGINT (a runner's timeout, Ctrl-C), which skip 'exit' handlers. When nothing else
  // handles the signal, it is raised again so the process still ends the way it would have.
  const onSignal = (signal: NodeJS.Signals) => {
    killAll();
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };
  process.once('exit', killAll);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcd = launch(join(binDir, 'etcd'), [
    '--name', 'envtest',
    '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', etcdUrl,
    '--advertise-client-urls', etcdUrl,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-cluster', `envtest=http://127.0.0.1:${etcdPeerPort}`,
    '--unsafe-no-fsync',
    '--log-level', 'error',
  ], join(dir, 'etcd.log'), verbose);
  children.add(etcd);

  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},envtest-admin,envtest-admin,system:masters\n`, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const apiArgs = [
    '--etcd-servers', etcdUrl,
    '--cert-dir', join(dir, 'certs'),
    '--bind-address', '127.0.0.1',
    '--advertise-address', '127.0.0.1',
    '--secure-port', String(apiPort),
    '--token-auth-file', join(dir, 'tokens.csv'),
    '--authorization-mode', 'RBAC',
    '--service-cluster-ip-range', '10.0.0.0/24',
    '--service-account-issuer', 'https://kubernetes.default.svc',
    '--service-account-key-file', join(dir, 'sa.pub'),
    '--service-account-signing-key-file', join(dir, 'sa.key'),
    '--shutdown-delay-duration', '0s',
    '--allow-privileged=true',
    '--disable-admission-plugins', 'ServiceAccount',
  ];
  const server = `https://127.0.0.1:${apiPort}`;
  let apiserver: ChildProcess | undefined;
  const startApi = async () => {
    apiserver = launch(join(binDir, 'kube-apiserver'), apiArgs, join(dir, 'apiserver.log'), verbose);
    children.add(apiserver);
    await waitReady(`${server}/readyz`, token, 60_000, apiserver, join(dir, 'apiserver.log'));
  };

  try {
    await waitReady(`${etcdUrl}/health`, undefined, 30_000, etcd, join(dir, 'etcd.log'));
    await startApi();
  } catch (err) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(server, readFileSync(join(dir, 'certs', 'apiserver.crt')), token), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  const plane: ControlPlane = {
    kubeconfigPath,
    kubeConfig,
    server,
    binDir,
    kubectl: (args, o) => kubectl(binDir, kubeconfigPath, args, o),
    restartApiServer: async () => {
      if (apiserver) await terminate(apiserver);
      await startApi();
    },
    stop: async () => {
      // The apiserver goes first: with etcd gone it hangs for a long time on SIGTERM.
      if (apiserver) await terminate(apiserver);
      await terminate(etcd);
      process.removeListener('exit', killAll);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // The default namespace is created by the apiserver a moment after /readyz; tests expect it.
  await waitFor(async () => (await plane.kubectl(['get', 'namespace', 'default'])).code === 0, 30_000, 'namespace default');
  return plane;
}

function launch(bin: string, args: string[], logFile: string, verbose: boolean): ChildProcess {
  const out = verbose ? 'inherit' : openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', out, out] });
  if (typeof out === 'number') closeSync(out);
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

async function waitReady(url: string, token: string | undefined, timeoutMs: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}\n${tail(logFile)}`);
    if ((await probe(url, token)) === 200) return;
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms\n${tail(logFile)}`);
}

function probe(url: string, token: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

function kubeconfigYaml(server: string, caPem: Buffer, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: envtest',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caPem.toString('base64')}`,
    'users:',
    '- name: envtest-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: envtest',
    '  context:',
    '    cluster: envtest',
    '    user: envtest-admin',
    '    namespace: default',
    'current-context: envtest',
    '',
  ].join('\n');
}

function kubectl(binDir: string, kubeconfigPath: string, args: string[], opts: KubectlOptions = {}): Promise<CommandResult> {
  const full = ['--kubeconfig', kubeconfigPath, ...(opts.namespace ? ['--namespace', opts.namespace] : []), ...args];
  return runCommand(join(binDir, 'kubectl'), full, { input: opts.input });
}

async function applyCrds(plane: ControlPlane, crdDir: string): Promise<void> {
  if (!existsSync(crdDir) || !readdirSync(crdDir).some((f) => f.endsWith('.yaml'))) return;
  const applied = await plane.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crdDir]);
  if (applied.code !== 0) throw new Error(`installing CRDs from ${crdDir} failed: ${applied.stderr}`);
  const waited = await plane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crdDir]);
  if (waited.code !== 0) throw new Error(`CRDs from ${crdDir} not established: ${waited.stderr}`);
  // Discovery of a new group lags Established by a moment; kubectl get by category needs it.
  await waitFor(async () => (await plane.kubectl(['api-resources', '--api-group', API_GROUP, '-o', 'name'])).stdout.trim() !== '', 30_000, `${API_GROUP} discovery`);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
