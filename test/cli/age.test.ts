import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageSince, formatAge } from '../../src/cli/age.ts';

const s = 1_000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;
const y = 365 * d;

test('ages read like kubectl AGE: precise while short, coarser as they grow', () => {
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [-500, '0s'],
    [0, '0s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 30 * s, '5m30s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [2 * h + 3 * m, '123m'],
    [3 * h + 5 * m, '3h5m'],
    [7 * h + 59 * m, '7h59m'],
    [8 * h + 30 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [3 * d + 4 * h, '3d4h'],
    [8 * d, '8d'],
    [400 * d, '400d'],
    [2 * y + 10 * d, '2y10d'],
    [3 * y, '3y'],
    [9 * y + 100 * d, '9y'],
  ];
  for (const [elapsed, expected] of cases) assert.equal(formatAge(elapsed), expected, `${elapsed} ms`);
});

test('the age of a timestamp is measured against the given now; missing or broken timestamps are <unknown>', () => {
  const now = new Date('2025-03-01T12:00:00Z');
  assert.equal(ageSince('2025-03-01T08:55:00Z', now), '3h5m');
  assert.equal(ageSince('2025-03-01T11:55:00Z', now), '5m');
  assert.equal(ageSince(undefined, now), '<unknown>');
  assert.equal(ageSince('', now), '<unknown>');
  assert.equal(ageSince('yesterday', now), '<unknown>');
});
