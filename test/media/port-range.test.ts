import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortRange } from '../../src/media/rtp-session.ts';

const cases: Array<{ text: string; want: { min: number; max: number } | RegExp }> = [
  { text: '20000-20062', want: { min: 20000, max: 20062 } },
  { text: ' 20000 - 20062 ', want: { min: 20000, max: 20062 } },
  { text: '20000-20000', want: { min: 20000, max: 20000 } },
  { text: '20001-20001', want: /no even port/ },
  { text: '20062-20000', want: /must not be greater/ },
  { text: '0-10', want: /between 1 and 65535/ },
  { text: '65000-70000', want: /between 1 and 65535/ },
  { text: '20000', want: /written min-max/ },
  { text: 'a-b', want: /written min-max/ },
  { text: '', want: /written min-max/ },
];

for (const c of cases) {
  test(`RTP port range ${JSON.stringify(c.text)}`, () => {
    const got = parsePortRange(c.text);
    if (c.want instanceof RegExp) {
      assert.equal(typeof got, 'string');
      assert.match(got as string, c.want);
    } else {
      assert.deepEqual(got, c.want);
    }
  });
}
