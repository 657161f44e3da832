import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDtmfInfo } from '../../src/media/dtmf-info.ts';

const cases: [contentType: string, body: string, key: string | undefined][] = [
  ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', '5'],
  ['application/dtmf-relay', 'Signal=#\r\nDuration=250\r\n', '#'],
  ['Application/DTMF-Relay; charset=utf-8', 'Signal= *\nDuration= 100\n', '*'],
  ['application/dtmf-relay', 'Duration=160\r\nSignal=a\r\n', 'A'],
  ['application/dtmf-relay', 'Signal=11\r\nDuration=160\r\n', '#'],
  ['application/dtmf-relay', 'Signal=10\r\nDuration=160\r\n', '*'],
  ['application/dtmf-relay', 'Duration=160\r\n', undefined],
  ['application/dtmf-relay', 'Signal=!\r\n', undefined],
  ['application/dtmf', '7', '7'],
  ['application/dtmf', '#\r\n', '#'],
  ['application/dtmf', '11', '#'],
  ['application/sdp', 'Signal=5', undefined],
  ['text/plain', '5', undefined],
];

for (const [contentType, body, key] of cases) {
  test(`INFO ${contentType} ${JSON.stringify(body)} -> ${key ?? 'nothing'}`, () => {
    assert.equal(parseDtmfInfo(contentType, body), key);
  });
}
