import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane } from '../../src/envtest/controlplane.ts';

function running(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

test('the embedded control plane serves the API, survives an apiserver restart and leaves no process behind', async () => {
  const cp = await startControlPlane({ installCrds: false });
  if (process.env.HOTDESK_KUBECONFIG) {
    await assert.rejects(cp.restartApiServer(), /existing cluster/);
    return;
  }
  const dataDir = cp.kubeconfigPath.replace(/\/kubeconfig$/, '');
  try {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'default' });
    assert.equal(ns.metadata?.name, 'default');

    const created = await cp.kubectl(['create', 'configmap', 'before-restart', '--from-literal=k=v']);
    assert.equal(created.code, 0, created.stderr);
    await cp.restartApiServer();
    const got = await cp.kubectl(['get', 'configmap', 'before-restart', '-o', 'jsonpath={.data.k}']);
    assert.equal(got.stdout, 'v', 'data written before the restart is still served from etcd');
  } finally {
    await cp.stop();
  }
  assert.deepEqual(running(dataDir), [], 'no etcd or kube-apiserver of this control plane still runs');
});

test('a process killed by SIGTERM takes its control plane with it', async () => {
  if (process.env.HOTDESK_KUBECONFIG) return; // nothing is started for an existing cluster
  const { spawn } = await import('node:child_process');
  const script = `import { startControlPlane } from ${JSON.stringify(new URL('../../src/envtest/controlplane.ts', import.meta.url).pathname)};
const cp = await startControlPlane({ installCrds: false });
process.stdout.write(cp.kubeconfigPath + '\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kubeconfig = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const dataDir = kubeconfig.replace(/\/kubeconfig$/, '');
  assert.ok(running(dataDir).length >= 2, 'etcd and kube-apiserver run');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  const deadline = Date.now() + 10_000;
  while (running(dataDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(running(dataDir), [], 'no etcd or kube-apiserver survives its parent');
});
