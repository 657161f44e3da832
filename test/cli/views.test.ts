import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeResync, renderDevices } from '../../src/cli/devices-view.ts';
import { deskOccupancy, renderWho } from '../../src/cli/who-view.ts';
import type { DeviceView } from '../../src/cli/resources.ts';
import { device, session, user } from './fixtures.ts';

/** A device the controller has not reconciled yet. */
function withoutStatus(d: DeviceView): DeviceView {
  delete d.status;
  return d;
}

const now = new Date('2025-03-01T12:00:00Z');
const users = [user('alice', '101', 'Alice Smith'), user('bob', '102', 'Bob Jones')];

test('who: occupied desks show extension, name and since when; idle and broken desks say so', () => {
  const devices = [
    device('desk-2', '00:15:65:aa:bb:02', { phase: 'Occupied', occupant: { user: 'bob', extension: '102', session: 'desk-2-x' } }),
    device('desk-1', '00:15:65:aa:bb:01', { phase: 'Occupied', occupant: { user: 'alice', extension: '101', session: 'desk-1-x' } }),
    device('desk-3', '00:15:65:aa:bb:03', { phase: 'Idle' }),
    device('desk-4', '00:15:65:aa:bb:04', { phase: 'Error' }),
    withoutStatus(device('desk-5', '00:15:65:aa:bb:05')),
  ];
  const sessions = [
    session('desk-1-x', 'desk-1', 'alice', 'Active', { startedAt: '2025-03-01T11:55:00Z' }),
    session('desk-2-x', 'desk-2', 'bob', 'Active', { startedAt: '2025-03-01T08:57:00Z' }),
  ];
  assert.equal(renderWho(deskOccupancy(devices, users, sessions), { allNamespaces: false, now }), [
    'DEVICE   POOL   STATE      EXTENSION   USER          SINCE',
    'desk-1   main   occupied   101         Alice Smith   5m',
    'desk-2   main   occupied   102         Bob Jones     3h3m',
    'desk-3   main   idle       <none>      <none>        <none>',
    'desk-4   main   error      <none>      <none>        <none>',
    'desk-5   main   idle       <none>      <none>        <none>',
    '',
  ].join('\n'));
});

test('who: an Active session stands in until the controller records the occupant on the device', () => {
  const devices = [device('desk-1', '00:15:65:aa:bb:01', { phase: 'Idle' })];
  const sessions = [
    session('desk-1-pending', 'desk-1', 'bob', 'Pending'),
    session('desk-1-x', 'desk-1', 'alice', 'Active', { startedAt: '2025-03-01T11:58:30Z' }),
  ];
  const [desk] = deskOccupancy(devices, users, sessions);
  assert.deepEqual(desk, {
    namespace: 'hq', device: 'desk-1', pool: 'main', location: 'desk-1 floor 3', state: 'occupied',
    extension: '101', user: 'alice', displayName: 'Alice Smith', session: 'desk-1-x', since: '2025-03-01T11:58:30Z',
  });
  const pendingOnly = deskOccupancy(devices, users, [sessions[0]!]);
  assert.equal(pendingOnly[0]!.state, 'idle', 'a Pending session is not an occupant yet');
});

test('who: the occupant is matched within the device namespace, and -A adds a NAMESPACE column', () => {
  const devices = [
    device('desk-1', '00:15:65:aa:bb:01', { phase: 'Occupied', occupant: { user: 'alice', extension: '101', session: 's1' } }, 'branch'),
    device('desk-1', '00:15:65:aa:bb:02', { phase: 'Idle' }, 'hq'),
  ];
  const allUsers = [...users, user('alice', '101', 'Alice Branch', 'branch')];
  const sessions = [session('s1', 'desk-1', 'alice', 'Active', { startedAt: '2025-03-01T11:59:30Z' }, 'branch')];
  assert.equal(renderWho(deskOccupancy(devices, allUsers, sessions), { allNamespaces: true, now }), [
    'NAMESPACE   DEVICE   POOL   STATE      EXTENSION   USER           SINCE',
    'branch      desk-1   main   occupied   101         Alice Branch   30s',
    'hq          desk-1   main   idle       <none>      <none>         <none>',
    '',
  ].join('\n'));
});

test('who: a recorded occupant whose session or user is gone still shows what is known', () => {
  const devices = [device('desk-1', '001565aabb01', { phase: 'Occupied', occupant: { user: 'zed', extension: '199' } })];
  assert.equal(renderWho(deskOccupancy(devices, users, []), { allNamespaces: false, now }), [
    'DEVICE   POOL   STATE      EXTENSION   USER   SINCE',
    'desk-1   main   occupied   199         zed    <unknown>',
    '',
  ].join('\n'));
});

test('devices: MAC, vendor, model, phase, occupant, revision and last re-sync with its acknowledgement', () => {
  const devices = [
    device('desk-2', '001565AABB02', { phase: 'Idle', configRevision: 'a1b2c3', lastResync: { sentAt: '2025-03-01T11:58:00Z' } }),
    device('desk-1', '00-15-65-AA-BB-01', {
      phase: 'Occupied', occupant: { user: 'alice', extension: '101', session: 's' }, configRevision: 'd4e5f6',
      lastResync: { sentAt: '2025-03-01T11:50:00Z', acknowledgedAt: '2025-03-01T11:50:02Z' },
    }),
    withoutStatus(device('desk-3', '00:15:65:aa:bb:03')),
  ];
  assert.equal(renderDevices(devices, { allNamespaces: false, now }), [
    'NAME     MAC                 VENDOR    MODEL   PHASE      OCCUPANT   REVISION   LAST RESYNC',
    'desk-1   00:15:65:aa:bb:01   yealink   T54W    Occupied   101        d4e5f6     10m',
    'desk-2   00:15:65:aa:bb:02   yealink   T54W    Idle       <none>     a1b2c3     2m (no ack)',
    'desk-3   00:15:65:aa:bb:03   yealink   T54W    <none>     <none>     <none>     <none>',
    '',
  ].join('\n'));
  assert.match(renderDevices(devices, { allNamespaces: true, now }).split('\n')[1]!, /^hq {10}desk-1 /);
});

test('a re-sync reads as its age, marked while the phone has not fetched its file', () => {
  const cases: [Parameters<typeof describeResync>[0], string][] = [
    [undefined, ''],
    [{}, ''],
    [{ sentAt: '2025-03-01T11:59:00Z' }, '60s (no ack)'],
    [{ sentAt: '2025-03-01T11:59:00Z', acknowledgedAt: '2025-03-01T11:59:05Z' }, '60s'],
  ];
  for (const [resync, expected] of cases) assert.equal(describeResync(resync, now), expected);
});
