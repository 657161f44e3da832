import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayMac, normalizeMac } from '../../src/cli/mac.ts';

test('MACs in any common notation normalize to twelve lower-case hex digits; other text does not', () => {
  const cases: [string, string | undefined][] = [
    ['00:15:65:AA:BB:CC', '001565aabbcc'],
    ['00-15-65-aa-bb-cc', '001565aabbcc'],
    ['0015.65aa.bbcc', '001565aabbcc'],
    ['001565AABBCC', '001565aabbcc'],
    [' 00 15 65 aa bb cc ', '001565aabbcc'],
    ['101', undefined],
    ['desk-3f-12', undefined],
    ['00:15:65:aa:bb', undefined],
    ['00:15:65:aa:bb:cc:dd', undefined],
    ['00:15:65:aa:bb:zz', undefined],
  ];
  for (const [text, expected] of cases) assert.equal(normalizeMac(text), expected, text);
});

test('MACs are displayed colon-separated in lower case; non-MACs as written', () => {
  assert.equal(displayMac('001565AABBCC'), '00:15:65:aa:bb:cc');
  assert.equal(displayMac('00-15-65-AA-BB-CC'), '00:15:65:aa:bb:cc');
  assert.equal(displayMac('not-a-mac'), 'not-a-mac');
});
