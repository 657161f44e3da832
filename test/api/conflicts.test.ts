import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Claims, describeLostClaim, deviceClaims, extensionKey, macKey, olderFirst, userClaims } from '../../src/api/conflicts.ts';
import type { HotDeskDevice, HotDeskUser } from '../../src/api/index.ts';

function device(name: string, mac: string, created: string, extra: { account?: string; pool?: string; deleting?: boolean } = {}): HotDeskDevice {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskDevice',
    metadata: { name, namespace: 'ns', creationTimestamp: created as unknown as Date, ...(extra.deleting ? { deletionTimestamp: '2025-01-02T00:00:00Z' as unknown as Date } : {}) },
    spec: { mac, vendor: 'yealink', pool: extra.pool ?? 'office', idleIdentity: { username: extra.account ?? `HD-${name}`, secretRef: { name: 'idle', passwordKey: 'password' } } },
  };
}

function user(name: string, extension: string, created: string, pool = 'office'): HotDeskUser {
  return {
    apiVersion: 'hotdesk.io/v1alpha1',
    kind: 'HotDeskUser',
    metadata: { name, namespace: 'ns', creationTimestamp: created as unknown as Date },
    spec: { pool, extension, secretRef: { name: `${name}-sip`, passwordKey: 'password', pinKey: 'pin', pinHashKey: 'pinHash' }, hotDeskingEnabled: true },
  };
}

const T1 = '2025-01-01T10:00:00Z';
const T2 = '2025-01-01T10:00:01Z';

test('older first: creation time, then name', () => {
  const table: [string, HotDeskDevice, HotDeskDevice, number][] = [
    ['the older one first', device('b', 'm', T1), device('a', 'm', T2), -1],
    ['created in the same second: by name', device('a', 'm', T1), device('b', 'm', T1), -1],
    ['the same object', device('a', 'm', T1), device('a', 'm', T1), 0],
    ['not yet stored counts as newest', device('a', 'm', T1), { ...device('z', 'm', T1), metadata: { name: 'z' } }, -1],
  ];
  for (const [what, a, b, sign] of table) {
    assert.equal(Math.sign(olderFirst(a, b)), sign, what);
    assert.equal(Math.sign(olderFirst(b, a)), -sign || 0, `${what}, reversed`);
  }
});

test('who loses a claim, for each kind of conflict', () => {
  const table: { what: string; objects: HotDeskDevice[]; loser?: string; reason?: string }[] = [
    { what: 'distinct MACs and accounts', objects: [device('a', '001', T1), device('b', '002', T2)] },
    { what: 'same MAC: the newer loses', objects: [device('a', '001', T1), device('b', '001', T2)], loser: 'b', reason: 'DuplicateMAC' },
    { what: 'same MAC, listed newest first', objects: [device('b', '001', T2), device('a', '001', T1)], loser: 'b', reason: 'DuplicateMAC' },
    { what: 'same MAC, same second: the later name loses', objects: [device('desk-2', '001', T1), device('desk-1', '001', T1)], loser: 'desk-2', reason: 'DuplicateMAC' },
    { what: 'same MAC in another pool still clashes (one phone, one file name)', objects: [device('a', '001', T1, { pool: 'p1' }), device('b', '001', T2, { pool: 'p2' })], loser: 'b', reason: 'DuplicateMAC' },
    { what: 'same idle account in a pool', objects: [device('a', '001', T1, { account: 'HD1' }), device('b', '002', T2, { account: 'HD1' })], loser: 'b', reason: 'DuplicateIdleAccount' },
    { what: 'same idle account in different pools is fine', objects: [device('a', '001', T1, { account: 'HD1', pool: 'p1' }), device('b', '002', T2, { account: 'HD1', pool: 'p2' })] },
    { what: 'an older one being deleted gives way at once', objects: [device('a', '001', T1, { deleting: true }), device('b', '001', T2)] },
  ];
  for (const { what, objects, loser, reason } of table) {
    const claims = new Claims<HotDeskDevice>(deviceClaims);
    for (const o of objects) claims.put(o);
    const losers = objects.filter((o) => claims.lost(o));
    assert.deepEqual(losers.map((o) => o.metadata.name), loser ? [loser] : [], what);
    if (loser && reason) assert.equal(describeLostClaim(claims.lost(losers[0]!)!).reason, reason, what);
  }
});

test('users: the same extension in one pool conflicts, in two pools it does not', () => {
  const claims = new Claims<HotDeskUser>(userClaims);
  const alice = user('alice', '101', T1);
  const mallory = user('mallory', '101', T2);
  const berlin = user('bert', '101', T2, 'berlin');
  for (const u of [mallory, alice, berlin]) claims.put(u);
  assert.equal(claims.holder(extensionKey('ns', 'office', '101'))?.metadata.name, 'alice');
  assert.equal(claims.lost(alice), undefined);
  assert.equal(claims.lost(berlin), undefined);
  const lost = claims.lost(mallory);
  assert.equal(lost?.holder.metadata.name, 'alice');
  assert.deepEqual(describeLostClaim(lost!), {
    reason: 'DuplicateExtension',
    message: 'extension 101 is used in pool office by HotDeskUser alice, which is older and keeps it; logins as 101 reach HotDeskUser alice only until you change spec.extension or delete HotDeskUser alice',
  });
});

test('put and remove name the objects whose standing may have changed, under old and new keys', () => {
  const claims = new Claims<HotDeskDevice>(deviceClaims);
  const a = device('a', '001', T1);
  const b = device('b', '001', T2);
  const c = device('c', '002', T2);
  assert.deepEqual(claims.put(a), []);
  assert.deepEqual(claims.put(c), []);
  assert.deepEqual(claims.put(b).map((o) => o.metadata.name), ['a']);
  // a moves to c's MAC: b (old key) and c (new key) are both affected, and b now holds 001.
  const moved = device('a', '002', T1);
  assert.deepEqual(claims.put(moved).map((o) => o.metadata.name).sort(), ['b', 'c']);
  assert.equal(claims.lost(b), undefined);
  assert.equal(claims.lost(c)?.holder.metadata.name, 'a');
  assert.deepEqual(claims.remove(moved).map((o) => o.metadata.name), ['c']);
  assert.equal(claims.lost(c), undefined);
  assert.deepEqual(claims.claimants(macKey('ns', '001')).map((o) => o.metadata.name), ['b']);
});
