import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatestPerKey } from '../../src/edge/latest-per-key.ts';

/** A job whose end the test controls; records that it started. */
function controllable(log: string[], name: string) {
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { job: () => { log.push(name); return done; }, finish: () => finish(), fail: (err: Error) => fail(err) };
}

const tick = () => new Promise((r) => setImmediate(r));

const cases: Array<{ name: string; asks: string[]; ran: string[] }> = [
  { name: 'one ask runs at once', asks: ['a1'], ran: ['a1'] },
  { name: 'an ask while one runs waits, then runs', asks: ['a1', 'a2'], ran: ['a1', 'a2'] },
  { name: 'of several asks while one runs only the latest runs after it', asks: ['a1', 'a2', 'a3', 'a4'], ran: ['a1', 'a4'] },
];

for (const c of cases) {
  test(`latest per key: ${c.name}`, async () => {
    const queue = new LatestPerKey();
    const log: string[] = [];
    const jobs = new Map(c.asks.map((name) => [name, controllable(log, name)]));
    const outcomes = c.asks.map((name) => queue.run('desk-1', jobs.get(name)!.job));
    await tick();
    for (const name of c.ran) {
      jobs.get(name)!.finish();
      await tick();
      await tick();
    }
    await Promise.all(outcomes);
    assert.deepEqual(log, c.ran);
    assert.deepEqual(queue.size, { running: 0, pending: 0 });
  });
}

test('latest per key: keys do not wait for each other', async () => {
  const queue = new LatestPerKey();
  const log: string[] = [];
  const a = controllable(log, 'desk-1');
  const b = controllable(log, 'desk-2');
  void queue.run('desk-1', a.job);
  const second = queue.run('desk-2', b.job);
  await tick();
  assert.deepEqual(log, ['desk-1', 'desk-2'], 'desk-2 started while desk-1 still runs');
  b.finish();
  await second;
  a.finish();
});

test('latest per key: a failed job does not stop the pending one, and its caller sees the failure', async () => {
  const queue = new LatestPerKey();
  const log: string[] = [];
  const first = controllable(log, 'first');
  const second = controllable(log, 'second');
  const firstOutcome = queue.run('desk-1', first.job);
  const secondOutcome = queue.run('desk-1', second.job);
  first.fail(new Error('transport gone'));
  await assert.rejects(firstOutcome, /transport gone/);
  await tick();
  second.finish();
  await secondOutcome;
  assert.deepEqual(log, ['first', 'second']);
});
