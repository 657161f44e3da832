import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoalescingPatcher, composeMergePatches } from '../../src/edge/status-writer.ts';
import { eventually } from '../support/eventually.ts';

test('composeMergePatches has the effect of applying both patches in order (RFC 7386)', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]> = [
    ['later value wins', { registration: { contact: 'a' } }, { registration: { contact: 'b' } }, { registration: { contact: 'b' } }],
    ['fields of both concerns kept', { registration: { contact: 'a' } }, { lastResync: { sentAt: 't' } }, { registration: { contact: 'a' }, lastResync: { sentAt: 't' } }],
    ['nested objects merged', { lastResync: { sentAt: 't', acknowledgedAt: null } }, { lastResync: { acknowledgedAt: 'u' } }, { lastResync: { sentAt: 't', acknowledgedAt: 'u' } }],
    ['null (removal) is kept as the later word', { lockedUntil: 'x' }, { lockedUntil: null }, { lockedUntil: null }],
    ['an object after a scalar replaces it', { a: 1 }, { a: { b: 2 } }, { a: { b: 2 } }],
    ['arrays replace', { a: [1, 2] }, { a: [3] }, { a: [3] }],
  ];
  for (const [name, earlier, later, expected] of cases) assert.deepEqual(composeMergePatches(earlier, later), expected, name);
});

test('a REGISTER flood becomes a few writes per device: the first at once, then the latest binding after the interval', async () => {
  const writes: Array<{ key: string; patch: Record<string, unknown>; at: number }> = [];
  const started = performance.now();
  const patcher = new CoalescingPatcher(async (key, patch) => {
    writes.push({ key, patch, at: performance.now() - started });
    await sleep(20);
  }, { minIntervalMs: 200, maxInFlight: 8 });
  const done: Array<Promise<void>> = [];
  for (let i = 1; i <= 1000; i++) {
    done.push(patcher.patch('desk-1', { registration: { contact: `sip:HD0001@10.0.0.1:${i}`, seenAt: String(i) } }));
    if (i % 100 === 0) await sleep(10);
  }
  done.push(patcher.patch('desk-2', { registration: { contact: 'sip:HD0002@10.0.0.2' } }));
  await Promise.all(done);
  const desk1 = writes.filter((w) => w.key === 'desk-1');
  assert.ok(desk1.length >= 2 && desk1.length <= 3, `${desk1.length} writes for 1000 REGISTERs`);
  assert.deepEqual(desk1.at(-1)!.patch, { registration: { contact: 'sip:HD0001@10.0.0.1:1000', seenAt: '1000' } }, 'the latest binding wins');
  for (let i = 1; i < desk1.length; i++) assert.ok(desk1[i]!.at - desk1[i - 1]!.at >= 195, 'writes of one device keep the interval');
  assert.equal(writes.filter((w) => w.key === 'desk-2').length, 1, 'another device is not held up by the first');
  await eventually('idle devices forgotten', () => patcher.trackedKeys === 0, 2_000, 20);
});

test('writes in flight are bounded across devices, and a failed write rejects exactly its callers', async () => {
  let inFlight = 0;
  let peak = 0;
  const patcher = new CoalescingPatcher(async (key) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await sleep(10);
    inFlight--;
    if (key === 'broken') throw new Error('API said no');
  }, { minIntervalMs: 0, maxInFlight: 4 });
  const results = await Promise.allSettled([
    ...Array.from({ length: 50 }, (_, i) => patcher.patch(`desk-${i}`, { registration: { contact: String(i) } })),
    patcher.patch('broken', { a: 1 }),
  ]);
  assert.equal(peak, 4);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
  assert.match(String((results.at(-1) as PromiseRejectedResult).reason), /API said no/);
});
