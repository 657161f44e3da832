import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSession, resolveLogoutTarget } from '../../src/cli/logout-target.ts';
import { device, session, user } from './fixtures.ts';

const users = [user('alice', '101', 'Alice Smith'), user('bob', '102', 'Bob Jones'), user('carol', '103', 'Carol')];
const devices = [
  device('desk-1', '00:15:65:AA:BB:01'),
  device('desk-2', '001565aabb02'),
  device('desk-3', '00-15-65-aa-bb-03'),
  // A device named like an extension: the name wins over Bob's extension.
  device('102', '00:15:65:aa:bb:04'),
];
const sessions = [
  session('desk-1-a', 'desk-1', 'alice', 'Active'),
  session('desk-1-old', 'desk-1', 'carol', 'Ended'),
  session('desk-2-b', 'desk-2', 'bob', 'Pending'),
  session('desk-3-new', 'desk-3', 'carol', undefined),
  session('desk-3-refused', 'desk-3', 'alice', 'Refused'),
];
const objects = { devices, users, sessions };

function ended(target: string): { by: string; names: string[] } | string {
  const r = resolveLogoutTarget(target, objects);
  if (r.found === 'sessions') return { by: r.by, names: r.sessions.map((s) => s.metadata?.name ?? '') };
  return r.found === 'nobody' ? `nobody: ${r.what}` : 'nothing';
}

test('a logout target is a device name, a MAC in any notation, or an extension; only open sessions end', () => {
  const cases: [string, ReturnType<typeof ended>][] = [
    ['desk-1', { by: 'device', names: ['desk-1-a'] }],
    ['desk-2', { by: 'device', names: ['desk-2-b'] }],
    ['desk-3', { by: 'device', names: ['desk-3-new'] }],
    ['00:15:65:aa:bb:01', { by: 'mac', names: ['desk-1-a'] }],
    ['00-15-65-AA-BB-01', { by: 'mac', names: ['desk-1-a'] }],
    ['001565AABB01', { by: 'mac', names: ['desk-1-a'] }],
    ['0015.65aa.bb02', { by: 'mac', names: ['desk-2-b'] }],
    ['101', { by: 'extension', names: ['desk-1-a'] }],
    ['103', { by: 'extension', names: ['desk-3-new'] }],
    ['102', 'nobody: device 102'],
    ['00:15:65:aa:bb:04', 'nobody: device 102 (MAC 00:15:65:aa:bb:04)'],
    ['desk-9', 'nothing'],
    ['00:15:65:aa:bb:99', 'nothing'],
    ['999', 'nothing'],
  ];
  for (const [target, expected] of cases) assert.deepEqual(ended(target), expected, target);
});

test('a user logged in at two desks by accident is logged out of both by extension', () => {
  const twice = [session('desk-1-a', 'desk-1', 'alice', 'Active'), session('desk-2-a', 'desk-2', 'alice', 'Active')];
  const r = resolveLogoutTarget('101', { devices, users, sessions: twice });
  assert.equal(r.found, 'sessions');
  assert.deepEqual(r.found === 'sessions' && r.sessions.map((s) => s.spec?.device), ['desk-1', 'desk-2']);
  assert.deepEqual(ended('104'), 'nothing');
  const idle = resolveLogoutTarget('101', { devices, users, sessions: [] });
  assert.deepEqual(idle, { found: 'nobody', by: 'extension', what: 'extension 101' });
});

test('an ended session is described by extension, name and desk', () => {
  assert.equal(describeSession(session('s', 'desk-1', 'alice', 'Active'), users), 'extension 101 (Alice Smith) at desk-1');
  assert.equal(describeSession(session('s', 'desk-1', 'ghost', 'Active'), users), 'user ghost at desk-1');
});
