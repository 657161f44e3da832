import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextExpiry } from '../../src/policy/expiry.ts';
import { isKnownTimeZone, nextDailyTime } from '../../src/policy/wall-clock.ts';

const t = (iso: string) => new Date(iso);

test('nextDailyTime lands on local wall-clock time across daylight saving', () => {
  const cases: Array<[string, string, string, string]> = [
    // after, HH:MM, zone, expected instant
    ['2026-01-15T10:00:00Z', '19:00', 'Europe/London', '2026-01-15T19:00:00.000Z'], // GMT
    ['2026-07-15T10:00:00Z', '19:00', 'Europe/London', '2026-07-15T18:00:00.000Z'], // BST
    ['2026-07-15T18:30:00Z', '19:00', 'Europe/London', '2026-07-16T18:00:00.000Z'], // already past today
    ['2026-03-28T20:00:00Z', '19:00', 'Europe/London', '2026-03-29T18:00:00.000Z'], // the day clocks go forward
    ['2026-11-25T00:00:00Z', '18:30', 'America/New_York', '2026-11-25T23:30:00.000Z'],
    ['2026-11-25T12:00:00Z', '00:00', 'Asia/Kolkata', '2026-11-25T18:30:00.000Z'],
    ['2026-11-25T23:59:00Z', '00:00', 'UTC', '2026-11-26T00:00:00.000Z'],
  ];
  for (const [after, hhmm, zone, expected] of cases) {
    assert.equal(nextDailyTime(t(after), hhmm, zone).toISOString(), expected, `${hhmm} ${zone} after ${after}`);
  }
});

test('nextDailyTime rejects a malformed time of day', () => {
  assert.throws(() => nextDailyTime(t('2026-01-01T00:00:00Z'), '7pm', 'UTC'), /HH:MM/);
  assert.throws(() => nextDailyTime(t('2026-01-01T00:00:00Z'), '24:00', 'UTC'), /HH:MM/);
});

test('isKnownTimeZone tells real zones from made-up ones', () => {
  assert.equal(isKnownTimeZone('Europe/London'), true);
  assert.equal(isKnownTimeZone('Mars/Olympus_Mons'), false);
});

test('nextExpiry picks the earliest rule and names it', () => {
  const startedAt = t('2026-07-15T08:00:00Z');
  const cases: Array<{ name: string; policy: Parameters<typeof nextExpiry>[1]; session?: Partial<Parameters<typeof nextExpiry>[0]>; at?: string; rule?: string; reason?: string }> = [
    { name: 'no rule', policy: { timeZone: 'UTC' } },
    { name: 'max duration', policy: { timeZone: 'UTC', maxDurationMs: 8 * 3600_000 }, at: '2026-07-15T16:00:00.000Z', rule: 'maxDuration', reason: 'expired' },
    { name: 'daily logout before max', policy: { timeZone: 'Europe/London', maxDurationMs: 12 * 3600_000, dailyLogoutTime: '17:00' }, at: '2026-07-15T16:00:00.000Z', rule: 'dailyLogoutTime', reason: 'expired' },
    { name: 'idle counts from last activity', policy: { timeZone: 'UTC', idleTimeoutMs: 3600_000, maxDurationMs: 8 * 3600_000 }, session: { lastActivityAt: t('2026-07-15T09:30:00Z') }, at: '2026-07-15T10:30:00.000Z', rule: 'idleTimeout', reason: 'idle' },
    { name: 'idle counts from login without activity', policy: { timeZone: 'UTC', idleTimeoutMs: 3600_000 }, at: '2026-07-15T09:00:00.000Z', rule: 'idleTimeout', reason: 'idle' },
    { name: 'explicit end time', policy: { timeZone: 'UTC', maxDurationMs: 8 * 3600_000 }, session: { expiresAt: t('2026-07-15T12:00:00Z') }, at: '2026-07-15T12:00:00.000Z', rule: 'expiresAt', reason: 'expired' },
  ];
  for (const c of cases) {
    const got = nextExpiry({ startedAt, ...c.session }, c.policy);
    if (!c.at) {
      assert.equal(got, undefined, c.name);
      continue;
    }
    assert.equal(got?.at.toISOString(), c.at, c.name);
    assert.equal(got?.rule, c.rule, c.name);
    assert.equal(got?.reason, c.reason, c.name);
  }
});
