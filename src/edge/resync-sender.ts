/**
 * Which edge replica sends a phone its check-sync NOTIFY. Every replica watches the pool's
 * provisioning ConfigMaps and sees the same change; without a rule each would send one. The replica
 * holding the phone's flow (named in status.registration.replica) sends, from its memory, where the
 * phone's NAT address is. When that replica is gone (not a ready endpoint of the edge Service any
 * more), the phone's flow went with it: the first ready replica in name order sends instead, to the
 * binding in status, so a phone still hears of the change once, before it registers again. A holder
 * that restarted at the same address counts as gone until it is ready again.
 */
export type ResyncSender = 'this' | 'other';

export function resyncSender(holder: string | undefined, self: string, ready: readonly string[]): ResyncSender {
  // No holder recorded (a status written before replicas named themselves): as before.
  if (holder === undefined) return 'this';
  // No endpoints known at all: a single edge run outside a cluster (the demo, tests), which may
  // have come back under another name.
  if (ready.length === 0) return 'this';
  if (ready.includes(holder)) return holder === self ? 'this' : 'other';
  return [...ready].sort()[0] === self ? 'this' : 'other';
}
