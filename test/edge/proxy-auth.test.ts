import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { parseDigestHeader } from '../../src/edge/digest-auth.ts';
import { ProxyAuthenticator } from '../../src/edge/proxy-auth.ts';

const md5 = (s: string) => hash('md5', s, 'hex');
const REALM = 'example.com';
const FLOW = 'udp|10.0.0.5|5060';

/** What a phone answers a 407 with (RFC 2617, qop=auth). */
function answer(challenge: string, o: { username: string; password: string; method?: string; uri?: string; nc?: string; cnonce?: string; realm?: string }): string {
  const c = parseDigestHeader(challenge)!;
  const method = o.method ?? 'INVITE';
  const uri = o.uri ?? 'sip:*77*5*@edge.example';
  const nc = o.nc ?? '00000001';
  const cnonce = o.cnonce ?? 'abc123';
  const realm = o.realm ?? c.realm!;
  const ha1 = md5(`${o.username}:${realm}:${o.password}`);
  const response = md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${o.username}", realm="${realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

test('a right answer proves the claimed identity once per nonce count, on the flow it was challenged on', () => {
  const auth = new ProxyAuthenticator({ realm: REALM });
  const challenge = auth.challenge(FLOW, 'HD0001');
  assert.match(challenge, /^Digest realm="example\.com", nonce="[A-Za-z0-9_-]{24}", qop="auth", algorithm=MD5$/);
  const header = answer(challenge, { username: 'HD0001', password: 'pw' });
  const check = (authorizations: string[], over: Partial<Parameters<ProxyAuthenticator['check']>[0]> = {}) =>
    auth.check({ authorizations, method: 'INVITE', flow: FLOW, identity: 'HD0001', password: 'pw', ...over }).result;

  assert.equal(check([]), 'missing');
  assert.equal(check(['Digest username="HD0001", realm="other.example", nonce="x", uri="u", response="00000000000000000000000000000000"']), 'missing', 'an answer for another realm is not for us');
  assert.equal(check([header], { password: 'wrong' }), 'denied', 'wrong password');
  assert.equal(check([header], { identity: 'HD0002' }), 'denied', 'an answer for another identity');
  assert.equal(check([header], { method: 'BYE' }), 'denied', 'an answer for another method');
  assert.equal(check([header], { flow: 'udp|10.6.6.6|5060' }), 'stale', 'a nonce seen on another flow was learnt from the wire');
  assert.equal(check([header]), 'ok');
  assert.equal(check([header]), 'denied', 'the same answer again is a replay');
  assert.equal(check([answer(challenge, { username: 'HD0001', password: 'pw', nc: '00000001', cnonce: 'other' })]), 'denied', 'a nonce count may not repeat');
  assert.equal(check([answer(challenge, { username: 'HD0001', password: 'pw', nc: '00000002' })]), 'ok', 'the next count is accepted');
  assert.equal(check([answer(challenge, { username: 'hd0001', password: 'pw', nc: '00000003' })]), 'ok', 'the account name in another case');
});

test('answers that leave out qop, nc or cnonce, or name another algorithm, are refused', () => {
  const auth = new ProxyAuthenticator({ realm: REALM });
  const challenge = auth.challenge(FLOW, '101');
  const good = answer(challenge, { username: '101', password: 'pw' });
  const variants = [
    good.replace(', qop=auth', ''),
    good.replace(/, nc=\w+/, ''),
    good.replace(/, cnonce="\w+"/, ''),
    good.replace('algorithm=MD5', 'algorithm=SHA-256'),
    good.replace(/response="\w+"/, 'response="zz"'),
  ];
  for (const v of variants) assert.equal(auth.check({ authorizations: [v], method: 'INVITE', flow: FLOW, identity: '101', password: 'pw' }).result, 'denied', v);
});

test('nonces are unpredictable, expire, and are bounded in memory', () => {
  const auth = new ProxyAuthenticator({ realm: REALM, capacity: 3, lifetimeMs: 1000 });
  const nonces = new Set<string>();
  for (let i = 0; i < 10; i++) nonces.add(parseDigestHeader(auth.challenge(FLOW, 'HD0001', { now: 0 }))!.nonce!);
  assert.equal(nonces.size, 10, 'no two nonces alike, even issued in the same millisecond');
  assert.equal(auth.size, 3, 'only the newest nonces are kept');

  const first = auth.challenge(FLOW, 'HD0001', { now: 0 });
  for (let i = 0; i < 3; i++) auth.challenge(FLOW, 'HD0001', { now: 0 });
  const check = (c: string, now: number) => auth.check({ authorizations: [answer(c, { username: 'HD0001', password: 'pw' })], method: 'INVITE', flow: FLOW, identity: 'HD0001', password: 'pw', now }).result;
  assert.equal(check(first, 10), 'stale', 'an evicted nonce gets a fresh challenge');
  const late = auth.challenge(FLOW, 'HD0001', { now: 0 });
  assert.equal(check(late, 5000), 'stale', 'an expired nonce gets a fresh challenge');
  assert.match(auth.challenge(FLOW, 'HD0001', { stale: true }), /stale=true$/);
});
