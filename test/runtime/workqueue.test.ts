import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/runtime/clock.ts';
import { WorkQueue, type WorkQueueListener } from '../../src/runtime/workqueue.ts';

function recorder(): WorkQueueListener & { adds: number; retries: number; depths: number[]; queued: number[]; work: number[] } {
  const r = {
    adds: 0,
    retries: 0,
    depths: [] as number[],
    queued: [] as number[],
    work: [] as number[],
    added: () => void r.adds++,
    retried: () => void r.retries++,
    depth: (d: number) => void r.depths.push(d),
    queueDuration: (s: number) => void r.queued.push(s),
    workDuration: (s: number) => void r.work.push(s),
  };
  return r;
}

/** Keys currently obtainable without waiting, in order. */
async function drainReady(q: WorkQueue<string>): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const k = await q.get();
    if (k === undefined) break;
    out.push(k);
  }
  return out;
}

test('a key added several times while queued is handed out once', async () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  q.add('a');
  q.add('b');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.deepEqual(await drainReady(q), ['a', 'b']);
});

test('a key re-added while in flight is not handed to a second worker, and comes back once after done', async () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while a worker holds it');
  q.done('a');
  assert.equal(q.len(), 1, 'queued again exactly once');
  assert.deepEqual(await drainReady(q), ['a']);
  q.done('a');
  assert.equal(q.len(), 0);
});

test('a waiting worker gets a key as soon as it is added', async () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
});

test('addRateLimited backs off exponentially from the base delay up to the cap', () => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>({ clock, backoff: { baseDelayMs: 5, maxDelayMs: 1000 }, rateLimit: { qps: 1e6, burst: 1e6 } });
  const delays = Array.from({ length: 10 }, () => q.addRateLimited('k'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(q.numRequeues('k'), 10);
  assert.equal(q.addRateLimited('other'), 5, 'backoff is per key');
});

test('forget resets a key to the base delay', () => {
  const q = new WorkQueue<string>({ clock: new ManualClock(), rateLimit: { qps: 1e6, burst: 1e6 } });
  q.addRateLimited('k');
  q.addRateLimited('k');
  assert.equal(q.addRateLimited('k'), 20);
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  assert.equal(q.addRateLimited('k'), 5);
});

test('a rate-limited key becomes available only after its delay', () => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>({ clock, backoff: { baseDelayMs: 100 } });
  q.addRateLimited('k');
  clock.advance(99);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
});

test('addAfter delays a key, and the earliest of several pending delays wins', () => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>({ clock });
  q.addAfter('k', 500);
  q.addAfter('k', 200);
  q.addAfter('k', 900);
  clock.advance(199);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
  clock.advance(1000);
  assert.equal(q.len(), 1, 'the superseded delays do not add it again');
  assert.equal(clock.pendingTimers(), 0);
});

test('addAfter with no delay adds at once', () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  q.addAfter('k', 0);
  assert.equal(q.len(), 1);
});

test('the global token bucket spreads a burst of retries over time', () => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>({ clock, backoff: { baseDelayMs: 1 }, rateLimit: { qps: 10, burst: 3 } });
  const delays = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => q.addRateLimited(k));
  // Three tokens in the bucket, then one per 100 ms.
  assert.deepEqual(delays, [1, 1, 1, 100, 200, 300]);
  clock.advance(1000);
  assert.equal(q.len(), 6);
  assert.equal(q.addRateLimited('g'), 1, 'the bucket refilled while time passed');
});

test('shutdown ignores new adds, wakes idle workers and waits for in-flight work to finish', async () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  q.add('busy');
  q.add('waiting');
  assert.equal(await q.get(), 'busy');
  let drained = false;
  const shut = q.shutDown().then(() => {
    drained = true;
  });
  q.add('late');
  assert.equal(await q.get(), undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, 'still draining while busy is in flight');
  q.done('busy');
  await shut;
  assert.equal(drained, true);
  assert.equal(q.len(), 0);
});

test('get with an aborted signal returns undefined and leaves the key for another worker', async () => {
  const q = new WorkQueue<string>({ clock: new ManualClock() });
  const ac = new AbortController();
  const waiting = q.get(ac.signal);
  ac.abort();
  assert.equal(await waiting, undefined);
  q.add('k');
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'k');
});

test('listeners see adds, retries, depth, queue and work durations', async () => {
  const clock = new ManualClock(1_000);
  const r = recorder();
  const q = new WorkQueue<string>({ clock, listeners: [r], backoff: { baseDelayMs: 10 } });
  q.add('a');
  q.add('a');
  q.add('b');
  assert.equal(r.adds, 2);
  assert.equal(r.depths.at(-1), 2);
  clock.advance(250);
  const k = await q.get();
  assert.equal(k, 'a');
  assert.equal(r.queued[0], 0.25);
  clock.advance(500);
  q.done('a');
  assert.equal(r.work[0], 0.5);
  q.addRateLimited('a');
  assert.equal(r.retries, 1);
  assert.equal(r.depths.at(-1), 1);
});
