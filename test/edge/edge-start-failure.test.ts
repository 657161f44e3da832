import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['create', 'namespace', 'edge-start']);
  assert.equal(r.code, 0, r.stderr);
});
after(() => cp?.stop());

test('an edge whose SIP port is taken fails to start and leaves nothing running in its process', async () => {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'test/fixtures/runtime/edge-start-on-taken-port.ts'), cp.kubeconfigPath, 'edge-start'], {
    env: { ...process.env, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // Before the fix the informers' watches kept the process alive for good.
  const exit = await new Promise<number | null | 'hung'>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('hung'); }, 20_000);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  assert.match(out, /failed: .*EADDRINUSE/, out);
  assert.equal(exit, 0, `the process should end by itself once the start failed; output:\n${out}`);
});
