import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitSession, type SessionRef } from '../../src/policy/session-admission.ts';

const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 9, min));
const s = (name: string, device: string, user: string, min: number): SessionRef => ({ name, device, user, createdAt: at(min) });

test('admitSession applies roaming rules and the logged-in-elsewhere policy', () => {
  const cases = [
    { name: 'free desk, user nowhere else', cand: s('new', 'desk1', 'u101', 5), active: [], policy: 'kick' as const, want: { action: 'activate', end: [] as string[] } },
    { name: 'occupied desk is taken over (3CX roaming)', cand: s('new', 'desk1', 'u101', 5), active: [s('old', 'desk1', 'u102', 1)], policy: 'refuse' as const, want: { action: 'activate', end: ['old:superseded'] } },
    { name: 'kick ends the other desk as roamed', cand: s('new', 'desk2', 'u101', 5), active: [s('old', 'desk1', 'u101', 1)], policy: 'kick' as const, want: { action: 'activate', end: ['old:roamed'] } },
    { name: 'refuse keeps the other desk and refuses', cand: s('new', 'desk2', 'u101', 5), active: [s('old', 'desk1', 'u101', 1)], policy: 'refuse' as const, want: { action: 'refuse', end: [] } },
    { name: 'allow keeps both', cand: s('new', 'desk2', 'u101', 5), active: [s('old', 'desk1', 'u101', 1)], policy: 'allow' as const, want: { action: 'activate', end: [] } },
    { name: 'same user again on the same desk supersedes the older', cand: s('new', 'desk1', 'u101', 5), active: [s('old', 'desk1', 'u101', 1)], policy: 'refuse' as const, want: { action: 'activate', end: ['old:superseded'] } },
    { name: 'an older login on a desk a newer login took is superseded', cand: s('old', 'desk1', 'u101', 1), active: [s('new', 'desk1', 'u102', 5)], policy: 'kick' as const, want: { action: 'superseded', end: [] } },
    { name: 'under kick an older login elsewhere is the stale one', cand: s('old', 'desk1', 'u101', 1), active: [s('new', 'desk2', 'u101', 5)], policy: 'kick' as const, want: { action: 'superseded', end: [] } },
    { name: 'both conflicts at once', cand: s('new', 'desk2', 'u101', 5), active: [s('a', 'desk1', 'u101', 1), s('b', 'desk2', 'u103', 2)], policy: 'kick' as const, want: { action: 'activate', end: ['b:superseded', 'a:roamed'] } },
  ];
  for (const c of cases) {
    const got = admitSession(c.cand, c.active, c.policy);
    assert.equal(got.action, c.want.action, c.name);
    const end = got.action === 'activate' ? got.end.map((e) => `${e.name}:${e.reason}`) : [];
    assert.deepEqual(end, c.want.end, c.name);
  }
});

test('a refusal says who is where and which policy refused', () => {
  const got = admitSession(s('new', 'desk2', 'u101', 5), [s('old', 'desk1', 'u101', 1)], 'refuse');
  assert.equal(got.action, 'refuse');
  assert.match(got.action === 'refuse' ? got.message : '', /u101 is already logged in on device desk1.*refuse/);
});
