import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginOutcome } from '../../src/cli/login-outcome.ts';
import { session } from './fixtures.ts';

test('an admin login settles when the session is Active, Refused or Ended, with the reason', () => {
  const who = 'extension 101 at desk-1';
  const cases: [ReturnType<typeof session>, ReturnType<typeof loginOutcome>][] = [
    [session('s', 'desk-1', 'alice', undefined), { settled: false, phase: 'Pending' }],
    [session('s', 'desk-1', 'alice', 'Pending'), { settled: false, phase: 'Pending' }],
    [session('s', 'desk-1', 'alice', 'Active'), { settled: true, ok: true, summary: 'extension 101 at desk-1: logged in (session s)' }],
    [session('s', 'desk-1', 'alice', 'Refused', { message: 'hot desking is disabled for 101' }),
      { settled: true, ok: false, summary: 'extension 101 at desk-1: login refused: hot desking is disabled for 101 (session s)' }],
    [session('s', 'desk-1', 'alice', 'Refused'), { settled: true, ok: false, summary: 'extension 101 at desk-1: login refused: no reason given (session s)' }],
    [session('s', 'desk-1', 'alice', 'Ended', { endReason: 'superseded', message: 'newer login at desk-1' }),
      { settled: true, ok: false, summary: 'extension 101 at desk-1: session ended before it became active: superseded: newer login at desk-1 (session s)' }],
  ];
  for (const [s, expected] of cases) assert.deepEqual(loginOutcome(s, who), expected);
});
