import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exponentialDelay, withJitter } from '../../src/runtime/backoff.ts';

test('exponential delays double from the base and stop at the cap', () => {
  const table: Array<[failures: number, base: number, cap: number, expected: number]> = [
    [0, 5, 1000, 0],
    [1, 5, 1000, 5],
    [2, 5, 1000, 10],
    [8, 5, 1000, 640],
    [9, 5, 1000, 1000],
    [5000, 5, 1_000_000, 1_000_000],
    [3, 800, 30_000, 3200],
  ];
  for (const [failures, base, cap, expected] of table) assert.equal(exponentialDelay(failures, base, cap), expected, `failures=${failures}`);
});

test('jitter only ever lengthens a delay, by at most the factor', () => {
  assert.equal(withJitter(1000, 0.5, () => 0), 1000);
  assert.equal(withJitter(1000, 0.5, () => 0.999999), 1000 + 499.9995);
  for (let i = 0; i < 100; i++) {
    const d = withJitter(200, 0.5);
    assert.ok(d >= 200 && d < 300, String(d));
  }
});
