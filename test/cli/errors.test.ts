import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { describeError } from '../../src/cli/errors.ts';
import { retryAfterMs } from '../../src/cli/retry.ts';

const server = 'https://127.0.0.1:6443';

test('errors read as kubectl prints them: the server Status, connection problems, or error: message', () => {
  const notFound = JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'hotdeskdevices.hotdesk.io "desk-9" not found', code: 404 });
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const cases: [unknown, string][] = [
    [new ApiException(404, 'Unknown API Status Code!', notFound, {}), 'Error from server (NotFound): hotdeskdevices.hotdesk.io "desk-9" not found'],
    [new ApiException(403, 'x', { reason: 'Forbidden', message: 'nope' }, {}), 'Error from server (Forbidden): nope'],
    [new ApiException(500, 'x', '{"message":"etcd is sad"}', {}), 'Error from server: etcd is sad'],
    [new ApiException(502, 'x', '<html>bad gateway</html>', {}), 'Error from server: the server responded with HTTP 502'],
    [new ApiException(401, 'Unauthorized', undefined, {}), 'error: You must be logged in to the server (Unauthorized)'],
    [refused, 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'Unable to connect to the server: ENOTFOUND'],
    [new Error('something odd'), 'error: something odd'],
  ];
  for (const [err, expected] of cases) assert.equal(describeError(err, server), expected);
});

test('only 429 and 5xx answers with Retry-After are retried, after the time the server asks for (capped)', () => {
  const cases: [unknown, number | undefined][] = [
    [new ApiException(429, 'x', '{}', { 'retry-after': '1' }), 1_000],
    [new ApiException(503, 'x', '{}', { 'Retry-After': '2' }), 2_000],
    [new ApiException(429, 'x', '{}', { 'retry-after': '3600' }), 10_000],
    [new ApiException(429, 'x', '{}', {}), undefined],
    [new ApiException(500, 'x', '{}', { 'retry-after': 'soon' }), undefined],
    [new ApiException(404, 'x', '{}', { 'retry-after': '1' }), undefined],
    [new Error('fetch failed'), undefined],
  ];
  for (const [err, expected] of cases) assert.equal(retryAfterMs(err), expected);
});
