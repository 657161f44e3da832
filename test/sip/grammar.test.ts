/** SIP URIs, name-addr, Via, branch/loop detection, Max-Forwards and routing decisions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeLoopHash, decrementMaxForwards, isLooping } from '../../src/sip/loop-detection.ts';
import { createRequest, getHeaders } from '../../src/sip/message.ts';
import { parseNameAddr, serializeNameAddr, tagOf } from '../../src/sip/name-addr.ts';
import { destinationOfUri, isOwnVia, nextHop, popOwnRoutes, topRouteIsOwn, type LocalIdentity } from '../../src/sip/routing.ts';
import { parseUri, serializeUri, tryParseUri } from '../../src/sip/uri.ts';
import { loopHashOfBranch, newBranch, parseVia, responseTarget, serializeVia, stampReceived } from '../../src/sip/via.ts';

describe('SIP URI', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['sip:alice@example.com', { scheme: 'sip', user: 'alice', host: 'example.com', params: {} }],
    ['sips:bob:secret@Example.COM:5061;transport=tls;lr?subject=hi%20there&priority=urgent', { scheme: 'sips', user: 'bob', password: 'secret', host: 'example.com', port: 5061, params: { transport: 'tls', lr: null }, headers: { subject: 'hi there', priority: 'urgent' } }],
    ['sip:%2A77%2A101%2A@10.0.0.1;user=phone', { user: '*77*101*', host: '10.0.0.1', params: { user: 'phone' } }],
    ['sip:[2001:db8::10]:5070', { host: '[2001:db8::10]', port: 5070 }],
    ['SIP:192.0.2.1;MADDR=239.255.255.1', { scheme: 'sip', host: '192.0.2.1', params: { maddr: '239.255.255.1' } }],
  ];
  for (const [text, expected] of cases) {
    it(`parses ${text}`, () => {
      const uri = parseUri(text);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(uri[key as keyof typeof uri], value, key);
    });
  }
  for (const bad of ['alice@example.com', 'http://example.com', 'sip:a@', 'sip:a@host:99999', 'sip:a@host:port', 'sip:a@[::1', 'sip:%zz@host']) {
    it(`rejects ${bad}`, () => assert.equal(tryParseUri(bad), undefined));
  }
  it('round-trips with the user part re-escaped only where needed', () => {
    assert.equal(serializeUri(parseUri('sip:%2A77%2A101%2A@10.0.0.1;user=phone')), 'sip:*77*101*@10.0.0.1;user=phone');
    assert.equal(serializeUri(parseUri('sip:j%20doe@h:5060;lr')), 'sip:j%20doe@h:5060;lr');
  });
});

describe('name-addr', () => {
  it('parses display name, URI params and header params apart', () => {
    const v = parseNameAddr('"Doe, \\"JD\\" John" <sip:john@h;transport=tcp>;tag=abc;expires=60');
    assert.equal(v.displayName, 'Doe, "JD" John');
    assert.deepEqual(v.uri.params, { transport: 'tcp' });
    assert.deepEqual(v.params, { tag: 'abc', expires: '60' });
    assert.equal(serializeNameAddr(v), '"Doe, \\"JD\\" John" <sip:john@h;transport=tcp>;tag=abc;expires=60');
  });
  it('treats params after a bare addr-spec as header params', () => {
    const v = parseNameAddr('sip:alice@h;tag=xyz');
    assert.deepEqual(v.uri.params, {});
    assert.equal(v.params['tag'], 'xyz');
    assert.equal(tagOf('sip:alice@h;tag=xyz'), 'xyz');
    assert.equal(tagOf('<sip:alice@h;tag=wrong>'), undefined);
    assert.equal(tagOf('Alice <sip:alice@h>;TAG=Up'), 'Up');
  });
});

describe('Via', () => {
  it('parses branch, received, rport and maddr with loose spacing', () => {
    const via = parseVia('SIP / 2.0 / udp  PC33.Example.com:5066 ;branch=z9hG4bK77;received=192.0.2.9;rport=4000;maddr=224.0.0.1');
    assert.ok(via);
    assert.equal(via.transport, 'UDP');
    assert.equal(via.host, 'pc33.example.com');
    assert.equal(via.port, 5066);
    assert.deepEqual(via.params, { branch: 'z9hG4bK77', received: '192.0.2.9', rport: '4000', maddr: '224.0.0.1' });
    assert.deepEqual(responseTarget(via), { host: '192.0.2.9', port: 4000 });
  });
  it('rejects malformed values', () => {
    for (const bad of ['SIP/2.0/UDP', 'garbage', 'SIP/2.0/UDP host:abc', 'SIP/2.0/UDP [::1']) assert.equal(parseVia(bad), undefined, bad);
  });
  it('stamps received and rport from the packet source (RFC 3581)', () => {
    const withRport = stampReceived(parseVia('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport')!, '203.0.113.7', 61000);
    assert.equal(serializeVia(withRport), 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=61000;received=203.0.113.7');
    assert.deepEqual(responseTarget(withRport), { host: '203.0.113.7', port: 61000 });
    const noRport = stampReceived(parseVia('SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1')!, '203.0.113.7', 61000);
    assert.deepEqual(responseTarget(noRport), { host: '203.0.113.7', port: 5062 });
    const same = stampReceived(parseVia('SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1')!, '10.0.0.5', 5060);
    assert.equal(same.params['received'], undefined);
  });
  it('makes unique RFC 3261 branches that carry the loop hash', () => {
    const a = newBranch('abc123');
    const b = newBranch('abc123');
    assert.match(a, /^z9hG4bK/);
    assert.notEqual(a, b);
    assert.equal(loopHashOfBranch(a), 'abc123');
    assert.equal(loopHashOfBranch(newBranch()), undefined);
  });
});

const identity: LocalIdentity = { hosts: new Set(['192.0.2.50']), ports: new Set([5060, 5070]) };
function invite(extra: Array<[string, string]> = [], uri = 'sip:101@pbx.example.com'): ReturnType<typeof createRequest> {
  return createRequest('INVITE', uri, [
    ['via', 'SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKphone'],
    ['from', '<sip:a@h>;tag=f1'],
    ['to', '<sip:101@h>'],
    ['call-id', 'cid'],
    ['cseq', '1 INVITE'],
    ...extra,
  ]);
}

describe('loop detection and Max-Forwards', () => {
  it('flags our own Via with the same loop hash as a loop', () => {
    const req = invite();
    const hash = computeLoopHash(req);
    const looped = invite([['via', `SIP/2.0/UDP 192.0.2.50:5060;branch=${newBranch(hash)}`]]);
    assert.equal(isLooping(looped, computeLoopHash(looped), (v) => isOwnVia(v, identity)), true);
  });
  it('does not flag a spiral (Request-URI changed) or a foreign Via', () => {
    const hash = computeLoopHash(invite());
    const spiral = invite([['via', `SIP/2.0/UDP 192.0.2.50:5060;branch=${newBranch(hash)}`]], 'sip:102@pbx.example.com');
    assert.equal(isLooping(spiral, computeLoopHash(spiral), (v) => isOwnVia(v, identity)), false);
    const foreign = invite([['via', `SIP/2.0/UDP 198.51.100.1:5060;branch=${newBranch(hash)}`]]);
    assert.equal(isLooping(foreign, computeLoopHash(foreign), (v) => isOwnVia(v, identity)), false);
  });
  const mf: Array<[string | undefined, ReturnType<typeof decrementMaxForwards>]> = [
    [undefined, { ok: true, value: 69 }],
    ['70', { ok: true, value: 69 }],
    ['1', { ok: true, value: 0 }],
    ['0', { ok: false }],
    ['x', { ok: false }],
  ];
  for (const [input, expected] of mf) it(`Max-Forwards ${String(input)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(decrementMaxForwards(input), expected));
});

describe('loose routing', () => {
  it('pops every Route that points at us and routes to the next one', () => {
    const req = invite([
      ['route', '<sip:192.0.2.50:5070;transport=tcp;lr>'],
      ['route', '<sip:192.0.2.50;lr>'],
      ['route', '<sip:198.51.100.9:5080;transport=tcp;lr>'],
    ]);
    assert.equal(topRouteIsOwn(req, identity), true);
    assert.equal(popOwnRoutes(req, identity), 2);
    assert.deepEqual(getHeaders(req, 'route'), ['<sip:198.51.100.9:5080;transport=tcp;lr>']);
    assert.deepEqual(nextHop(req, tryParseUri), { transport: 'tcp', address: '198.51.100.9', port: 5080 });
  });
  it('falls back to the Request-URI when no Route is left', () => {
    const req = invite([['route', '<sip:192.0.2.50;lr>']], 'sip:callee@198.51.100.3:5062');
    popOwnRoutes(req, identity);
    assert.deepEqual(nextHop(req, tryParseUri), { transport: 'udp', address: '198.51.100.3', port: 5062 });
  });
  it('derives transport and default port from the URI', () => {
    assert.deepEqual(destinationOfUri(parseUri('sips:a@h')), { transport: 'tls', address: 'h', port: 5061 });
    assert.deepEqual(destinationOfUri(parseUri('sip:a@h;transport=TCP')), { transport: 'tcp', address: 'h', port: 5060 });
    assert.deepEqual(destinationOfUri(parseUri('sip:a@[::1]:5090')), { transport: 'udp', address: '::1', port: 5090 });
  });
});
