import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeCaller, type Caller, type DeskDirectory, type FlowRegistration } from '../../src/edge/caller-attribution.ts';

/** desk-1 (HD0001) is occupied by alice (101); desk-2 (HD0002) is idle; bob (102) sits nowhere. */
const desks: DeskDirectory = {
  deskOfIdleAccount: (account) => ({ hd0001: 'desk-1', hd0002: 'desk-2' } as Record<string, string>)[account.toLowerCase()],
  deskOfExtension: (extension) => (extension === '101' ? 'desk-1' : undefined),
  occupantExtension: (device) => (device === 'desk-1' ? '101' : undefined),
  occupied: (device) => device === 'desk-1',
};

const flow = (device: string, ...identities: string[]): FlowRegistration => ({ device, identities });

test('a request is attributed by its flow, and From can only narrow what the caller may do', () => {
  const cases: Array<{ name: string; flow?: FlowRegistration; from: string; want: Caller }> = [
    { name: 'idle desk calling as its idle account', flow: flow('desk-2', 'HD0002'), from: 'HD0002', want: { kind: 'desk', device: 'desk-2', proof: 'flow', state: 'idle', deskOccupied: false, assertedUser: undefined } },
    { name: 'idle desk with a lower-case From', flow: flow('desk-2', 'HD0002'), from: 'hd0002', want: { kind: 'desk', device: 'desk-2', proof: 'flow', state: 'idle', deskOccupied: false, assertedUser: undefined } },
    { name: 'idle desk with an empty From user', flow: flow('desk-2', 'HD0002'), from: '', want: { kind: 'desk', device: 'desk-2', proof: 'flow', state: 'idle', deskOccupied: false, assertedUser: undefined } },
    { name: 'idle desk claiming to be alice', flow: flow('desk-2', 'HD0002'), from: '101', want: { kind: 'desk', device: 'desk-2', proof: 'flow', state: 'idle', deskOccupied: false, assertedUser: undefined } },
    { name: 'alice\'s phone registered as 101 calling as 101', flow: flow('desk-1', '101'), from: '101', want: { kind: 'desk', device: 'desk-1', proof: 'flow', state: 'occupied', deskOccupied: true, assertedUser: '101' } },
    { name: 'occupied desk not yet re-synced (still HD0001): idle, but may log out', flow: flow('desk-1', 'HD0001'), from: 'HD0001', want: { kind: 'desk', device: 'desk-1', proof: 'flow', state: 'idle', deskOccupied: true, assertedUser: undefined } },
    { name: 'occupied desk\'s HD0001 flow claiming 101', flow: flow('desk-1', 'HD0001'), from: '101', want: { kind: 'desk', device: 'desk-1', proof: 'flow', state: 'idle', deskOccupied: true, assertedUser: undefined } },
    { name: 'a phone still registered as 101 at a desk alice has left', flow: flow('desk-2', '101'), from: '101', want: { kind: 'desk', device: 'desk-2', proof: 'flow', state: 'idle', deskOccupied: false, assertedUser: undefined } },
    { name: 'both lines registered, calling from the idle one', flow: flow('desk-1', 'HD0001', '101'), from: 'HD0001', want: { kind: 'desk', device: 'desk-1', proof: 'flow', state: 'idle', deskOccupied: true, assertedUser: undefined } },
    { name: 'unregistered flow claiming an idle account', from: 'HD0001', want: { kind: 'claim', device: 'desk-1', identity: 'HD0001', account: 'idle' } },
    { name: 'unregistered flow claiming an idle account in lower case', from: 'hd0002', want: { kind: 'claim', device: 'desk-2', identity: 'hd0002', account: 'idle' } },
    { name: 'unregistered flow claiming a seated user', from: '101', want: { kind: 'claim', device: 'desk-1', identity: '101', account: 'user' } },
    { name: 'unregistered flow claiming a user who sits nowhere', from: '102', want: { kind: 'other' } },
    { name: 'unregistered flow with an empty From user', from: '', want: { kind: 'other' } },
    { name: 'unregistered flow of a phone that is not a hot desk', from: '555', want: { kind: 'other' } },
  ];
  for (const c of cases) assert.deepEqual(attributeCaller(c.flow, c.from, desks), c.want, c.name);
});
