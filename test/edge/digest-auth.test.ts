import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { answerAlgorithm, challenges, DigestNonces, parseDigestHeader, parseNonceCount, verifyDigest } from '../../src/edge/digest-auth.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('parseDigestHeader reads the forms phones send', () => {
  const cases: Array<[string, string | undefined, Record<string, string> | undefined]> = [
    ['no header', undefined, undefined],
    ['Basic is not Digest', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', undefined],
    ['a word starting with digest', 'Digestive x=1', undefined],
    ['quoted and bare values, any case of scheme and names', 'DIGEST Username="0015651234ab", REALM="hotdesk", nc=00000001, qop=auth',
      { username: '0015651234ab', realm: 'hotdesk', nc: '00000001', qop: 'auth' }],
    ['spaces around = and commas inside quotes', 'Digest uri = "/a,b.cfg" ,  cnonce="x y"', { uri: '/a,b.cfg', cnonce: 'x y' }],
    ['backslash escapes inside quotes', 'Digest username="a\\"b\\\\c", realm="r"', { username: 'a"b\\c', realm: 'r' }],
    ['a tab after the scheme, no spaces after commas', 'Digest\tusername="u",realm="r",nonce="n"', { username: 'u', realm: 'r', nonce: 'n' }],
    ['garbage between pairs is skipped', 'Digest username="u", garbage, realm="r"', { username: 'u', realm: 'r' }],
    ['an unterminated quote ends at the end', 'Digest username="u', { username: 'u' }],
    ['an empty value', 'Digest opaque=""', { opaque: '' }],
  ];
  for (const [name, header, expected] of cases) assert.deepEqual(parseDigestHeader(header), expected, name);
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const REALM = 'testrealm@host.com';
const URI = '/dir/index.html';

/** An answer as a client computes it (RFC 7616 §3.4.1), with any field overridden before hashing. */
function answer(nonce: string, password: string, over: Record<string, string> = {}, h = md5) {
  const p = { username: 'Mufasa', realm: REALM, nonce, uri: URI, qop: 'auth', nc: '00000001', cnonce: '0a4f113b', ...over };
  const ha1 = h(`${p.username}:${REALM}:${password}`);
  return { ...p, response: h(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${h(`GET:${URI}`)}`) };
}

test('verifyDigest accepts a correct answer (the user and password of RFC 2617 §3.5) and rejects any altered field', () => {
  const nonces = new DigestNonces();
  const verify = (params: Record<string, string>, password = 'Circle Of Life', method = 'GET') => verifyDigest({ params, method, realm: REALM, password, nonces });
  let nc = 0;
  // Every accepted answer uses up its count: each case below takes a fresh one.
  const next = (over: Record<string, string> = {}, password = 'Circle Of Life', h = md5) => answer(nonce, password, { nc: (++nc).toString(16).padStart(8, '0'), ...over }, h);
  const nonce = nonces.issue();
  assert.equal(verify(next()), 'ok');
  const upper = next();
  assert.equal(verify({ ...upper, response: upper.response.toUpperCase() }), 'ok', 'hex case does not matter');
  assert.equal(verify(next({}, 'circle of life')), 'denied', 'wrong password');
  assert.equal(verify(next(), 'Circle Of Life', 'HEAD'), 'denied', 'answer for another method');
  assert.equal(verify({ ...next(), nc: '000000ff' }), 'denied', 'a field changed after hashing');
  assert.equal(verify({ ...next(), realm: 'other' }), 'denied', 'another realm');
  const good = next().response;
  assert.equal(verify({ ...next(), response: `${good.slice(0, 30)}zz` }), 'denied', 'not hex');
  assert.equal(verify({ ...next(), response: good.slice(0, 31) }), 'denied', 'too short');
  assert.equal(verify({ ...next(), response: `${good}00` }), 'denied', 'too long');
  const { response: _dropped, ...withoutResponse } = next();
  assert.equal(verify(withoutResponse), 'denied', 'no response');
  const { cnonce: _c, ...withoutCnonce } = next();
  assert.equal(verify(withoutCnonce), 'denied', 'no cnonce');
  const foreign = new DigestNonces().issue();
  assert.equal(verify(answer(foreign, 'Circle Of Life')), 'stale', 'a right answer to a nonce from another process: challenge again');
  assert.equal(verify(answer(foreign, 'wrong')), 'denied', 'a wrong answer to a nonce from another process');
  assert.equal(verify(answer('forged', 'Circle Of Life')), 'stale', 'a right answer to a made-up nonce: challenge again');
});

test('verifyDigest takes qop=auth only, and MD5 or SHA-256 each checked with its own hash', () => {
  const nonces = new DigestNonces();
  const nonce = nonces.issue();
  const verify = (params: Record<string, string>) => verifyDigest({ params, method: 'GET', realm: REALM, password: 'Circle Of Life', nonces });
  const cases: Array<[string, Record<string, string>, string]> = [
    ['MD5 named', answer(nonce, 'Circle Of Life', { nc: '00000001', algorithm: 'MD5' }), 'ok'],
    ['no algorithm means MD5', answer(nonce, 'Circle Of Life', { nc: '00000002' }), 'ok'],
    ['SHA-256 answered with SHA-256', answer(nonce, 'Circle Of Life', { nc: '00000003', algorithm: 'SHA-256' }, sha256), 'ok'],
    ['SHA-256 named, MD5 answer', answer(nonce, 'Circle Of Life', { nc: '00000004', algorithm: 'SHA-256' }), 'denied'],
    ['MD5 named, SHA-256 answer', answer(nonce, 'Circle Of Life', { nc: '00000005', algorithm: 'MD5' }, sha256), 'denied'],
    ['MD5-sess', answer(nonce, 'Circle Of Life', { nc: '00000006', algorithm: 'MD5-sess' }), 'denied'],
    ['SHA-256-sess', answer(nonce, 'Circle Of Life', { nc: '00000007', algorithm: 'SHA-256-sess' }, sha256), 'denied'],
    ['SHA-512-256', answer(nonce, 'Circle Of Life', { nc: '00000008', algorithm: 'SHA-512-256' }, sha256), 'denied'],
    ['qop=auth-int', answer(nonce, 'Circle Of Life', { nc: '00000009', qop: 'auth-int' }), 'denied'],
    ['no qop (RFC 2069)', (() => { const { qop: _q, ...rest } = answer(nonce, 'Circle Of Life', { nc: '0000000a' }); return rest; })(), 'denied'],
    ['hashed username', answer(nonce, 'Circle Of Life', { nc: '0000000b', userhash: 'true' }), 'denied'],
    ['still good after the refusals', answer(nonce, 'Circle Of Life', { nc: '0000000c' }), 'ok'],
  ];
  for (const [name, params, expected] of cases) assert.equal(verify(params), expected, name);
});

test('a replayed Authorization gets a fresh challenge: nonce counts only go up, on the nonce\'s own process', () => {
  const nonces = new DigestNonces();
  const nonce = nonces.issue();
  const verify = (params: Record<string, string>, password = 'Circle Of Life') => verifyDigest({ params, method: 'GET', realm: REALM, password, nonces });
  const first = answer(nonce, 'Circle Of Life', { nc: '00000001' });
  assert.equal(verify(first), 'ok');
  assert.equal(verify(first), 'stale', 'the same header again');
  assert.equal(verify(answer(nonce, 'Circle Of Life', { nc: '00000003' })), 'ok', 'a count may skip');
  assert.equal(verify(answer(nonce, 'Circle Of Life', { nc: '00000002' })), 'stale', 'a count going backwards');
  assert.equal(verify(answer(nonce, 'Circle Of Life', { nc: '00000003' })), 'stale', 'a count used before');
  for (const nc of ['00000000', '4', '0000000g', '000000004', '', 'garbage']) {
    assert.equal(verify(answer(nonce, 'Circle Of Life', { nc })), 'denied', `nc ${JSON.stringify(nc)}`);
  }
  assert.equal(verify(answer(nonce, 'wrong', { nc: 'ffffffff' })), 'denied');
  assert.equal(verify(answer(nonce, 'Circle Of Life', { nc: '00000004' })), 'ok', 'a wrong answer with a high count did not use the count up');
});

test('nonces: good only at their issuer, for five minutes, and bounded in number', () => {
  const now = Date.UTC(2026, 10, 25, 12);
  const issuer = new DigestNonces();
  const nonce = issuer.issue(now);
  assert.notEqual(issuer.issue(now), nonce, 'two challenges in one millisecond get different nonces');
  assert.equal(new DigestNonces().use(nonce, 1, now + 1_000), 'stale', 'another process');
  assert.equal(issuer.use(nonce, 1, now + 5 * 60_000 + 1), 'stale', 'after the lifetime');
  assert.equal(issuer.use(`${nonce}x`, 1, now), 'stale', 'altered');
  assert.equal(issuer.use(nonce, 1, now + 1_000), 'valid');

  const small = new DigestNonces(3);
  const oldest = small.issue(now);
  for (let i = 0; i < 3; i++) small.issue(now);
  assert.equal(small.size, 3);
  assert.equal(small.use(oldest, 1, now), 'stale', 'the oldest is forgotten when the table is full');
  const late = new DigestNonces(1_000);
  for (let i = 0; i < 500; i++) late.issue(now);
  late.issue(now + 5 * 60_000 + 1);
  assert.equal(late.size, 1, 'expired nonces are dropped as new ones are issued');
});

test('a challenge offers MD5 first, then SHA-256, with qop=auth and one fresh nonce; a stale one says so', () => {
  const nonces = new DigestNonces();
  const [md5Challenge, shaChallenge] = challenges({ realm: 'hotdesk', nonces }).map((c) => parseDigestHeader(c)!);
  assert.equal(md5Challenge!.realm, 'hotdesk');
  assert.equal(md5Challenge!.qop, 'auth');
  assert.equal(md5Challenge!.algorithm, 'MD5');
  assert.equal(shaChallenge!.algorithm, 'SHA-256');
  assert.equal(shaChallenge!.nonce, md5Challenge!.nonce);
  assert.equal(nonces.use(md5Challenge!.nonce!, 1), 'valid');
  assert.equal(md5Challenge!.stale, undefined);
  assert.ok(challenges({ realm: 'hotdesk', nonces, stale: true }).every((c) => parseDigestHeader(c)!.stale === 'true'));
});

test('answerAlgorithm and parseNonceCount read only what RFC 7616 allows', () => {
  assert.deepEqual(['MD5', 'md5', 'SHA-256', 'sha-256', undefined, 'MD5-sess', 'SHA-256-sess', 'SHA-512-256', ''].map(answerAlgorithm),
    ['MD5', 'MD5', 'SHA-256', 'SHA-256', 'MD5', undefined, undefined, undefined, undefined]);
  assert.deepEqual(['00000001', '0000000A', 'ffffffff', '00000000', '1', ' 00000001', undefined].map(parseNonceCount),
    [1, 10, 0xffffffff, undefined, undefined, undefined, undefined]);
});
