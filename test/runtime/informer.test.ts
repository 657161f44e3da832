import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../src/runtime/informer.ts';
import { CORE_KINDS, type KubeObject } from '../../src/runtime/resource.ts';
import { ApiError, type KubeClient, type RequestOptions, type WatchEvent } from '../../src/runtime/rest.ts';
import { waitFor } from '../fixtures/runtime/harness.ts';

type WatchStep = (onEvent: (ev: WatchEvent<KubeObject>) => void, signal: AbortSignal) => Promise<void>;

/** A scripted API: each list returns the next item set, each watch runs the next step. */
function scriptedClient(lists: KubeObject[][], watches: WatchStep[]) {
  const calls = { lists: 0, watches: 0, watchResourceVersions: [] as string[] };
  const idle: WatchStep = (_e, signal) => new Promise((r) => signal.addEventListener('abort', () => r(), { once: true }));
  const client = {
    async request(opts: RequestOptions) {
      assert.equal(opts.method, 'GET');
      const items = lists[Math.min(calls.lists, lists.length - 1)]!;
      calls.lists++;
      return { metadata: { resourceVersion: String(100 * calls.lists) }, items };
    },
    async watch(_path: string, query: Record<string, unknown>, onEvent: (ev: WatchEvent<KubeObject>) => void, signal: AbortSignal) {
      calls.watchResourceVersions.push(String(query.resourceVersion));
      const step = watches[calls.watches] ?? idle;
      calls.watches++;
      return step(onEvent, signal);
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

const cm = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

test('a 410 Gone from the watch makes the informer relist and reconcile its cache with the fresh list', async () => {
  const { client, calls } = scriptedClient(
    [[cm('a', '1'), cm('b', '2')], [cm('b', '2'), cm('c', '3')]],
    [async (onEvent) => onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } as unknown as KubeObject })],
  );
  const inf = new Informer(client, { kind: CORE_KINDS.configMap, resyncPeriodMs: 0 });
  const seen: string[] = [];
  inf.addHandler({ onAdd: (o) => seen.push(`add ${o.metadata?.name}`), onDelete: (o) => seen.push(`delete ${o.metadata?.name}`) });
  inf.start();
  try {
    await waitFor(() => calls.lists === 2 && calls.watches === 2, 5_000, 'relist after 410');
    assert.deepEqual(inf.list().map((o) => o.metadata?.name).sort(), ['b', 'c']);
    assert.deepEqual(seen, ['add a', 'add b', 'delete a', 'add c']);
    assert.deepEqual(calls.watchResourceVersions, ['100', '200'], 'the new watch starts from the new list');
  } finally {
    await inf.stop();
  }
});

test('a failed watch is retried from the last seen resourceVersion without relisting', async () => {
  const { client, calls } = scriptedClient(
    [[cm('a', '1')]],
    [
      async (onEvent) => {
        onEvent({ type: 'MODIFIED', object: cm('a', '150') });
        throw new Error('connection reset');
      },
      async () => {
        throw new ApiError(500, { message: 'boom' }, 'watch');
      },
    ],
  );
  const inf = new Informer(client, { kind: CORE_KINDS.configMap, resyncPeriodMs: 0, retryInitialMs: 10, retryMaxMs: 50 });
  inf.start();
  try {
    await waitFor(() => calls.watches === 3, 5_000, 'third watch');
    assert.equal(calls.lists, 1);
    assert.deepEqual(calls.watchResourceVersions, ['100', '150', '150']);
    assert.equal(inf.get('ns', 'a')?.metadata?.resourceVersion, '150');
  } finally {
    await inf.stop();
  }
});

test('a failed first list is retried and the informer reports synced only after it succeeds', async () => {
  let attempts = 0;
  const client = {
    async request() {
      attempts++;
      if (attempts < 3) throw new Error('connect ECONNREFUSED');
      return { metadata: { resourceVersion: '7' }, items: [cm('x', '7')] };
    },
    watch: (_p: string, _q: unknown, _e: unknown, signal: AbortSignal) => new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
  } as unknown as KubeClient;
  const inf = new Informer(client, { kind: CORE_KINDS.configMap, resyncPeriodMs: 0, retryInitialMs: 10, retryMaxMs: 20 });
  inf.start();
  try {
    assert.equal(inf.hasSynced(), false);
    assert.equal(await inf.waitForSync(), true);
    assert.equal(attempts, 3);
    assert.equal(inf.get('ns', 'x')?.metadata?.name, 'x');
  } finally {
    await inf.stop();
  }
});

test('after an outage the informer reconnects as soon as the API server answers, not when its backoff runs out', async () => {
  let down = true;
  let watches = 0;
  let watchingSince = 0;
  const client = {
    async request() {
      if (down) throw new Error('connect ECONNREFUSED');
      return { metadata: { resourceVersion: '5' }, items: [cm('a', '5')] };
    },
    async watch(_p: string, _q: unknown, _e: unknown, signal: AbortSignal) {
      watches++;
      if (down) throw new Error('connect ECONNREFUSED');
      watchingSince = Date.now();
      return new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  } as unknown as KubeClient;
  // A first retry delay of 20 s: without the probe the informer would sit that out.
  const inf = new Informer(client, { kind: CORE_KINDS.configMap, resyncPeriodMs: 0, retryInitialMs: 20_000, retryMaxMs: 30_000, probeIntervalMs: 50 });
  inf.start();
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(inf.hasSynced(), false);
    const backAt = Date.now();
    down = false;
    assert.equal(await inf.waitForSync(), true);
    await waitFor(() => watchingSince > 0, 5_000, 'a watch after the outage');
    const reconnectMs = watchingSince - backAt;
    assert.ok(reconnectMs < 1_000, `reconnected ${reconnectMs} ms after the server came back`);
    assert.equal(watches, 1, 'nothing was watched before the first list succeeded');
    assert.equal(inf.get('ns', 'a')?.metadata?.name, 'a');
  } finally {
    await inf.stop();
  }
});
