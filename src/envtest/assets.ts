import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Kubernetes release whose binaries scripts/build-control-plane.sh builds and caches. */
export const K8S_VERSION = process.env.HOTDESK_K8S_VERSION ?? 'v1.36.3';
const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export function cacheRoot(): string {
  return process.env.HOTDESK_CACHE_DIR ?? join(homedir(), '.cache', 'hotdesk-operator');
}

/**
 * The folder holding etcd, kube-apiserver and kubectl: KUBEBUILDER_ASSETS when set (the envtest
 * convention), else the version-keyed cache, built on first use by the project's script.
 */
export function resolveAssets(opts: { require: string[]; allowMissing?: boolean }): string {
  const fromEnv = process.env.KUBEBUILDER_ASSETS;
  const dir = fromEnv ?? join(cacheRoot(), `k8s-${K8S_VERSION}`);
  const missing = () => opts.require.filter((b) => !existsSync(join(dir, b)));
  if (missing().length > 0 && !fromEnv && !opts.allowMissing) {
    process.stderr.write(`envtest: building ${missing().join(', ')} into ${dir} (first run only)\n`);
    execFileSync('bash', [join(REPO_ROOT, 'scripts/build-control-plane.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const still = missing();
  if (still.length > 0 && !opts.allowMissing) {
    throw new Error(`control-plane binaries missing in ${dir}: ${still.join(', ')}; run scripts/build-control-plane.sh or set KUBEBUILDER_ASSETS`);
  }
  return dir;
}
