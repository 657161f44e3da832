import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, optionalDuration } from '../../src/policy/duration.ts';

test('parseDuration reads Go-style durations', () => {
  const cases: Array<[string, number]> = [
    ['90s', 90_000], ['8h', 28_800_000], ['1h30m', 5_400_000], ['500ms', 500], ['1.5h', 5_400_000], ['2m3s', 123_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration rejects what is not a duration, naming the format', () => {
  for (const bad of ['', '8', 'h', '8d', '1h 30m', '-5m', 'abc']) {
    assert.throws(() => parseDuration(bad), /invalid duration .*ms, s, m or h/, bad);
  }
});

test('optionalDuration treats unset and zero as no limit', () => {
  assert.equal(optionalDuration(undefined), undefined);
  assert.equal(optionalDuration('0s'), undefined);
  assert.equal(optionalDuration('2s'), 2000);
});
