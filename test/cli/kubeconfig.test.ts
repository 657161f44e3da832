import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chooseNamespace, ConfigError, kubeconfigFiles, loadTarget } from '../../src/cli/kubeconfig.ts';

function kubeconfig(opts: { current?: string; contexts: { name: string; cluster: string; namespace?: string }[]; clusters: { name: string; server: string }[] }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    ...(opts.current ? { 'current-context': opts.current } : {}),
    clusters: opts.clusters.map((c) => ({ name: c.name, cluster: { server: c.server } })),
    users: [{ name: 'me', user: { token: 'not-a-secret' } }],
    contexts: opts.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: 'me', ...(c.namespace ? { namespace: c.namespace } : {}) } })),
  });
}

function withFiles(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-kubeconfig-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const none = { kubeconfig: undefined, context: undefined, namespace: undefined };

test('kubeconfig files are chosen like kubectl: --kubeconfig, else existing $KUBECONFIG entries, else ~/.kube/config', () => {
  const present = new Set(['/a', '/b', '/home/me/.kube/config']);
  const exists = (p: string) => present.has(p);
  const cases: [string | undefined, string | undefined, string[]][] = [
    ['/a', '/b', ['/a']],
    [undefined, ['/a', '/missing', '', '/b'].join(delimiter), ['/a', '/b']],
    [undefined, undefined, ['/home/me/.kube/config']],
    [undefined, '', ['/home/me/.kube/config']],
  ];
  for (const [flag, env, expected] of cases) assert.deepEqual(kubeconfigFiles(flag, { KUBECONFIG: env }, '/home/me', exists), expected);
  assert.deepEqual(kubeconfigFiles(undefined, {}, '/nohome', exists), []);
  assert.throws(() => kubeconfigFiles('/missing', {}, '/home/me', exists), /stat \/missing: no such file or directory/);
});

test('the namespace is -n, else the context namespace, else default', () => {
  assert.equal(chooseNamespace('ops', 'hq'), 'ops');
  assert.equal(chooseNamespace(undefined, 'hq'), 'hq');
  assert.equal(chooseNamespace(undefined, undefined), 'default');
});

test('with several KUBECONFIG files the first definition and the first current-context win, and --context switches', () => {
  withFiles((dir) => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    writeFileSync(first, kubeconfig({ contexts: [{ name: 'lab', cluster: 'lab', namespace: 'lab-ns' }], clusters: [{ name: 'lab', server: 'https://127.0.0.1:1111' }] }));
    writeFileSync(second, kubeconfig({
      current: 'lab',
      contexts: [{ name: 'lab', cluster: 'lab', namespace: 'ignored' }, { name: 'prod', cluster: 'prod', namespace: 'branch' }, { name: 'bare', cluster: 'prod' }],
      clusters: [{ name: 'lab', server: 'https://127.0.0.1:9999' }, { name: 'prod', server: 'https://127.0.0.1:2222' }],
    }));
    const env = { KUBECONFIG: [first, second].join(delimiter) };

    const lab = loadTarget(none, env, dir);
    assert.equal(lab.namespace, 'lab-ns');
    assert.equal(lab.kubeConfig.getCurrentCluster()?.server, 'https://127.0.0.1:1111');

    const prod = loadTarget({ ...none, context: 'prod' }, env, dir);
    assert.equal(prod.namespace, 'branch');
    assert.equal(prod.kubeConfig.getCurrentCluster()?.server, 'https://127.0.0.1:2222');

    assert.equal(loadTarget({ ...none, context: 'prod', namespace: 'ops' }, env, dir).namespace, 'ops');
    assert.equal(loadTarget({ ...none, context: 'bare' }, env, dir).namespace, 'default');
    assert.throws(() => loadTarget({ ...none, context: 'nope' }, env, dir), (e: unknown) => e instanceof ConfigError && /context was not found for specified context: nope/.test(e.message));
  });
});

test('~/.kube/config is read when nothing else is given; no config at all or no current context is a clear error', () => {
  withFiles((dir) => {
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), kubeconfig({ contexts: [{ name: 'c', cluster: 'k' }], clusters: [{ name: 'k', server: 'https://127.0.0.1:3333' }] }));
    assert.throws(() => loadTarget(none, {}, dir), /current-context is not set/);
    assert.equal(loadTarget({ ...none, context: 'c' }, {}, dir).kubeConfig.getCurrentCluster()?.server, 'https://127.0.0.1:3333');
    assert.throws(() => loadTarget(none, {}, join(dir, 'elsewhere')), /no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~\/.kube\/config/);
  });
});
