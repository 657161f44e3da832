import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resyncSender, type ResyncSender } from '../../src/edge/resync-sender.ts';

const A = '10.244.0.11:5060';
const B = '10.244.0.12:5060';
const C = '10.244.0.13:5060';

const cases: Array<{ name: string; holder: string | undefined; ready: string[]; senders: Record<string, ResyncSender> }> = [
  { name: 'the replica holding the flow sends, the others do not', holder: A, ready: [A, B, C], senders: { [A]: 'this', [B]: 'other', [C]: 'other' } },
  { name: 'the holder is gone: exactly one of the ready replicas sends from status', holder: A, ready: [B, C], senders: { [B]: 'this', [C]: 'other' } },
  { name: 'the holder restarted at the same address and is not ready yet: one ready replica sends, not both', holder: A, ready: [B], senders: { [A]: 'other', [B]: 'this' } },
  { name: 'the holder restarted and is ready again: it sends from status', holder: A, ready: [A, B], senders: { [A]: 'this', [B]: 'other' } },
  { name: 'no holder recorded (a status from an older edge): each sends as before', holder: undefined, ready: [A, B], senders: { [A]: 'this', [B]: 'this' } },
  { name: 'no endpoints known (one edge outside a cluster, perhaps back under another name)', holder: A, ready: [], senders: { [A]: 'this', [B]: 'this' } },
];

for (const c of cases) {
  test(`resync sender: ${c.name}`, () => {
    for (const [self, expected] of Object.entries(c.senders)) assert.equal(resyncSender(c.holder, self, c.ready), expected, self);
  });
}
