import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampTtl, orderSrv, shouldTryNextTarget, srvName, type SrvRecord, type TargetFailure } from '../../src/edge/pbx-targets.ts';

const srv = (name: string, priority: number, weight: number): SrvRecord => ({ name, port: 5060, priority, weight });

/** A `random` returning the given draws in turn. */
const draws = (...values: number[]) => () => values.shift() ?? 0;

test('SRV records: lowest priority first, weighted within a priority, "." means none', () => {
  const cases: Array<[string, SrvRecord[], () => number, string[]]> = [
    ['priority decides first', [srv('b', 20, 100), srv('a', 10, 0)], draws(0.5, 0.5), ['a', 'b']],
    ['a low draw picks the first by weight', [srv('heavy', 10, 90), srv('light', 10, 10)], draws(0.05, 0), ['light', 'heavy']],
    ['a high draw picks the heavy one', [srv('heavy', 10, 90), srv('light', 10, 10)], draws(0.9, 0), ['heavy', 'light']],
    ['weight 0 only on a zero draw', [srv('zero', 10, 0), srv('some', 10, 5)], draws(0.5, 0), ['some', 'zero']],
    ['weight 0 on a zero draw', [srv('zero', 10, 0), srv('some', 10, 5)], draws(0, 0), ['zero', 'some']],
    ['the service is not offered', [srv('.', 0, 0)], draws(0), []],
    ['no records', [], draws(0), []],
  ];
  for (const [name, records, random, expected] of cases) assert.deepEqual(orderSrv(records, random).map((r) => r.name), expected, name);
});

test('weighted order over many draws follows the weights', () => {
  let heavyFirst = 0;
  for (let i = 0; i < 2000; i++) if (orderSrv([srv('heavy', 1, 75), srv('light', 1, 25)])[0]!.name === 'heavy') heavyFirst++;
  assert.ok(heavyFirst > 1300 && heavyFirst < 1700, `heavy first ${heavyFirst} times of 2000 (expected about 1500)`);
});

test('what makes a request go to the next target', () => {
  const cases: Array<[TargetFailure, boolean]> = [
    [{ kind: 'transport-error' }, true],
    [{ kind: 'timeout' }, true],
    [{ kind: 'response', status: 503 }, true],
    [{ kind: 'response', status: 500 }, false],
    [{ kind: 'response', status: 486 }, false],
    [{ kind: 'response', status: 404 }, false],
    [{ kind: 'response', status: 200 }, false],
  ];
  for (const [failure, next] of cases) assert.equal(shouldTryNextTarget(failure), next, JSON.stringify(failure));
});

test('TTLs within 5 s and 1 h; SRV names per transport', () => {
  assert.deepEqual([0, 1, 5, 300, 3600, 86400, -3, NaN].map(clampTtl), [5, 5, 5, 300, 3600, 3600, 5, 5]);
  assert.deepEqual((['udp', 'tcp', 'tls'] as const).map((t) => srvName('pbx.example', t)), ['_sip._udp.pbx.example', '_sip._tcp.pbx.example', '_sips._tcp.pbx.example']);
});
