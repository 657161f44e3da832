import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinCollector, type CollectOptions, type CollectResult } from '../../src/media/pin-collector.ts';
import type { DtmfKey } from '../../src/media/dtmf.ts';

type Step = [at: number, key: DtmfKey] | [at: number, 'tick'];

const base: CollectOptions = { maxDigits: 6, interDigitTimeoutMs: 5000, overallTimeoutMs: 30000 };

const cases: { name: string; options?: Partial<CollectOptions>; steps: Step[]; result: CollectResult | undefined; doneAt?: number }[] = [
  { name: 'hash ends the entry and is not part of it', steps: [[100, '1'], [600, '2'], [1100, '3'], [1600, '4'], [2000, '#']], result: { digits: '1234', terminatedBy: 'terminator' } },
  { name: 'max digits ends it without the hash', options: { maxDigits: 4 }, steps: [[100, '9'], [200, '9'], [300, '9'], [400, '9']], result: { digits: '9999', terminatedBy: 'max-digits' } },
  { name: 'silence after some keys', steps: [[100, '1'], [200, '2'], [5199, 'tick'], [5200, 'tick']], result: { digits: '12', terminatedBy: 'inter-digit-timeout' }, doneAt: 5200 },
  { name: 'no key at all', steps: [[4999, 'tick'], [5000, 'tick']], result: { digits: '', terminatedBy: 'inter-digit-timeout' } },
  { name: 'a separate first-key timeout', options: { firstDigitTimeoutMs: 10000 }, steps: [[6000, '5'], [10999, 'tick'], [11000, 'tick']], result: { digits: '5', terminatedBy: 'inter-digit-timeout' } },
  {
    name: 'the overall limit beats a slow but steady typist',
    options: { overallTimeoutMs: 10000, maxDigits: 20 },
    steps: [[4000, '1'], [8000, '2'], [9999, 'tick'], [10000, 'tick']],
    result: { digits: '12', terminatedBy: 'overall-timeout' },
  },
  { name: 'a key after the deadline does not count', steps: [[100, '1'], [5100, '2']], result: { digits: '1', terminatedBy: 'inter-digit-timeout' } },
  { name: 'keys after the end are ignored', steps: [[100, '#'], [200, '5']], result: { digits: '', terminatedBy: 'terminator' } },
  { name: 'star is a key like any other, another terminator can be chosen', options: { terminator: '*' }, steps: [[100, '#'], [200, '1'], [300, '*']], result: { digits: '#1', terminatedBy: 'terminator' } },
  { name: 'still waiting', steps: [[100, '1'], [4000, 'tick']], result: undefined },
];

for (const c of cases) {
  test(`PinCollector: ${c.name}`, () => {
    const collector = new PinCollector({ ...base, ...c.options }, 0);
    let result: CollectResult | undefined;
    for (const [at, action] of c.steps) {
      const out = action === 'tick' ? collector.tick(at) : collector.press(action, at);
      result ??= out;
    }
    assert.deepEqual(result, c.result);
    assert.deepEqual(collector.result, c.result);
    if (c.result) assert.equal(collector.nextDeadline(), undefined);
  });
}

test('PinCollector tells when to look again: the earlier of key and overall deadlines', () => {
  const collector = new PinCollector({ maxDigits: 4, interDigitTimeoutMs: 3000, overallTimeoutMs: 7000 }, 1000);
  assert.equal(collector.nextDeadline(), 4000);
  collector.press('1', 2500);
  assert.equal(collector.nextDeadline(), 5500);
  collector.press('2', 5400);
  assert.equal(collector.nextDeadline(), 8000);
  assert.throws(() => new PinCollector({ maxDigits: 0, interDigitTimeoutMs: 1 }, 0), /maxDigits/);
});
