import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import { challenge, DigestNonces, parseDigestHeader, verifyDigest } from '../../src/edge/digest-auth.ts';

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

test('verifyDigest accepts a correct answer (the user and password of RFC 2617 §3.5) and rejects any altered field', () => {
  const nonces = new DigestNonces(createSecretKey(randomBytes(32)));
  const nonce = nonces.issue();
  const realm = 'testrealm@host.com';
  const uri = '/dir/index.html';
  const answer = (password: string, over: Record<string, string> = {}) => {
    const p = { username: 'Mufasa', realm, nonce, uri, qop: 'auth', nc: '00000001', cnonce: '0a4f113b', ...over };
    const ha1 = md5(`${p.username}:${realm}:${password}`);
    return { ...p, response: md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${md5(`GET:${uri}`)}`) };
  };
  const verify = (params: Record<string, string>, password = 'Circle Of Life', method = 'GET') => verifyDigest({ params, method, realm, password, nonces });
  assert.equal(verify(answer('Circle Of Life')), 'ok');
  assert.equal(verify({ ...answer('Circle Of Life'), response: answer('Circle Of Life').response.toUpperCase() }), 'ok', 'hex case does not matter');
  assert.equal(verify(answer('circle of life')), 'denied', 'wrong password');
  assert.equal(verify(answer('Circle Of Life'), 'Circle Of Life', 'HEAD'), 'denied', 'answer for another method');
  assert.equal(verify({ ...answer('Circle Of Life'), nc: '00000002' }), 'denied', 'a field changed after hashing');
  assert.equal(verify({ ...answer('Circle Of Life'), realm: 'other' }), 'denied', 'another realm');
  const good = answer('Circle Of Life').response;
  assert.equal(verify({ ...answer('Circle Of Life'), response: `${good.slice(0, 30)}zz` }), 'denied', 'not hex');
  assert.equal(verify({ ...answer('Circle Of Life'), response: good.slice(0, 31) }), 'denied', 'too short');
  assert.equal(verify({ ...answer('Circle Of Life'), response: `${good}00` }), 'denied', 'too long');
  const foreign = new DigestNonces(createSecretKey(randomBytes(32))).issue();
  assert.equal(verify(answer('Circle Of Life', { nonce: foreign })), 'stale', 'a right answer to a nonce from another process: challenge again');
  assert.equal(verify(answer('wrong', { nonce: foreign })), 'denied', 'a wrong answer to a nonce from another process');
  assert.equal(verify(answer('Circle Of Life', { nonce: 'forged' })), 'stale', 'a right answer to a malformed nonce: challenge again');
  const { response: _dropped, ...withoutResponse } = answer('Circle Of Life');
  assert.equal(verify(withoutResponse), 'denied', 'no response');
});

test('nonces: any holder of the key accepts them, others do not, and they go stale after five minutes', () => {
  const key = randomBytes(32);
  const issuer = new DigestNonces(createSecretKey(key));
  const sameKey = new DigestNonces(createSecretKey(key));
  const otherKey = new DigestNonces(createSecretKey(randomBytes(32)));
  const now = Date.UTC(2026, 10, 25, 12);
  const nonce = issuer.issue(now);
  const cases: Array<[string, DigestNonces, string, number, string]> = [
    ['the issuer, just now', issuer, nonce, now + 1_000, 'valid'],
    ['another process with the same key', sameKey, nonce, now + 1_000, 'valid'],
    ['a process with another key', otherKey, nonce, now + 1_000, 'invalid'],
    ['after the lifetime (remembered as verified)', issuer, nonce, now + 5 * 60_000 + 1, 'stale'],
    ['after the lifetime (never seen)', new DigestNonces(createSecretKey(key)), nonce, now + 5 * 60_000 + 1, 'stale'],
    ['from the future beyond clock skew', sameKey, sameKey.issue(now + 120_000), now, 'stale'],
    ['a forged mac', issuer, `${nonce.split('.')[0]}.${'A'.repeat(22)}`, now, 'invalid'],
    ['no dot', issuer, 'abcdef', now, 'invalid'],
    ['empty', issuer, '', now, 'invalid'],
  ];
  for (const [name, book, n, at, expected] of cases) assert.equal(book.check(n, at), expected, name);
});

test('a challenge names the realm, qop=auth, MD5 and a fresh nonce; a stale one says so', () => {
  const nonces = new DigestNonces(createSecretKey(randomBytes(32)));
  const header = challenge({ realm: 'hotdesk', nonces });
  const params = parseDigestHeader(header)!;
  assert.equal(params.realm, 'hotdesk');
  assert.equal(params.qop, 'auth');
  assert.equal(params.algorithm, 'MD5');
  assert.equal(nonces.check(params.nonce!), 'valid');
  assert.equal(params.stale, undefined);
  assert.equal(parseDigestHeader(challenge({ realm: 'hotdesk', nonces, stale: true }))!.stale, 'true');
});
