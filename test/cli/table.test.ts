import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable } from '../../src/cli/table.ts';

test('tables have upper-case headers, columns three spaces apart and no trailing spaces', () => {
  const out = renderTable(['device', 'extension', 'user'], [
    ['desk-1', '101', 'Alice Smith'],
    ['reception-long-name', '7', 'Bo'],
  ]);
  assert.equal(out, [
    'DEVICE                EXTENSION   USER',
    'desk-1                101         Alice Smith',
    'reception-long-name   7           Bo',
    '',
  ].join('\n'));
});

test('empty cells read <none> and a header wider than every value sets the width', () => {
  const cases: [string[], string[][], string][] = [
    [['a', 'b'], [['', 'x']], 'A        B\n<none>   x\n'],
    [['name', 'pool'], [['d', '']], 'NAME   POOL\nd      <none>\n'],
    [['name'], [], 'NAME\n'],
  ];
  for (const [headers, rows, expected] of cases) assert.equal(renderTable(headers, rows), expected);
});
