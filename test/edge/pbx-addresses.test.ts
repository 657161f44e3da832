import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, HostAddresses, isFromPbx, isFromPbxHostOverUdp, pbxAddressMatcher } from '../../src/edge/pbx-addresses.ts';
import type { SipAddress } from '../../src/sip/transport.ts';
import { eventually } from '../support/eventually.ts';

test('canonicalAddress folds case and IPv4-mapped IPv6', () => {
  assert.deepEqual(['10.0.0.5', '::ffff:10.0.0.5', '::FFFF:10.0.0.5', 'FE80::1', '::ffff:zz'].map(canonicalAddress), ['10.0.0.5', '10.0.0.5', '10.0.0.5', 'fe80::1', '::ffff:zz']);
});

test('a PBX named by IP is matched at once; one named by host name by the addresses it resolves to, refreshed', async () => {
  let answer = ['10.0.0.5', '2001:db8::5'];
  let lookups = 0;
  let fail = false;
  const errors: string[] = [];
  const book = new HostAddresses({
    refreshMs: 1_000,
    retryMs: 100,
    resolve: async (host) => {
      lookups++;
      if (fail) throw new Error(`no such host ${host}`);
      return answer;
    },
    onError: (host) => errors.push(host),
  });
  assert.equal(book.matches('10.0.0.5', '::ffff:10.0.0.5', 0), true, 'an IP literal');
  assert.equal(book.matches('10.0.0.5', '10.0.0.6', 0), false);
  assert.equal(book.matches(undefined, '10.0.0.5', 0), false, 'no pool yet');
  assert.equal(lookups, 0, 'an IP is never looked up');

  assert.equal(book.matches('pbx.tenant.example', '10.0.0.5', 0), false, 'not before the first answer: never waits on DNS');
  await eventually('resolved', () => book.matches('pbx.tenant.example', '10.0.0.5', 10), 2_000, 5);
  assert.equal(book.matches('pbx.tenant.example', '2001:DB8::5', 10), true, 'AAAA too');
  assert.equal(book.matches('pbx.tenant.example', 'pbx.tenant.example', 10), false, 'the name as text is no address');
  assert.equal(book.matches('pbx.tenant.example', '10.0.0.9', 10), false);
  assert.equal(lookups, 1, 'cached until the refresh is due');

  answer = ['10.0.0.9'];
  book.matches('pbx.tenant.example', '10.0.0.9', 1_001);
  await eventually('moved PBX followed', () => book.matches('pbx.tenant.example', '10.0.0.9', 1_002), 2_000, 5);
  assert.equal(book.matches('pbx.tenant.example', '10.0.0.5', 1_002), false, 'the old address is no longer exempt');

  fail = true;
  book.matches('pbx.tenant.example', '10.0.0.9', 2_100);
  await eventually('failure reported', () => errors.length === 1, 2_000, 5);
  assert.equal(book.matches('pbx.tenant.example', '10.0.0.9', 2_101), true, 'a failed refresh keeps what was known');

  fail = false;
  answer = ['10.0.1.1'];
  assert.equal(book.matches('pbx2.tenant.example', '10.0.0.9', 2_102), false, 'a renamed PBX drops the old addresses at once');
  await eventually('new name resolved', () => book.matches('pbx2.tenant.example', '10.0.1.1', 2_103), 2_000, 5);
});

test('the system resolver: localhost resolves to the loopback address', async () => {
  const exempt = pbxAddressMatcher(() => 'localhost');
  await eventually('localhost resolved', () => exempt('127.0.0.1') || exempt('::1'), 5_000, 20);
  assert.equal(exempt('192.0.2.1'), false);
});

test('from the PBX: its address and port, a TCP/TLS connection the edge opened to it, or a TLS client certified as it; never another port of its host', async () => {
  const book = new HostAddresses({ resolve: async () => ['10.0.0.5'] });
  book.matches('pbx.tenant.example', '10.0.0.5'); // starts the first lookup
  await eventually('the PBX name resolved', () => book.matches('pbx.tenant.example', '10.0.0.5'));
  const pbx = { host: '10.0.0.5', port: 5060 };
  const byName = { host: 'pbx.tenant.example', port: 5060 };
  const srv = { host: 'pbx.tenant.example', ports: [5070, 5080] };
  const srvUnknown = { host: 'pbx.tenant.example' };
  const accepted = (address: string, port: number): SipAddress => ({ transport: 'tcp', address, port, connection: { id: 1 } });
  const opened = (address: string, port: number, to = { address, port }): SipAddress => ({ transport: 'tcp', address, port, connection: { id: 2, openedTo: to } });
  const certified = (address: string, name: string): SipAddress => ({ transport: 'tls', address, port: 40312, connection: { id: 3, certifiedFor: (host) => host === name } });
  const rows: Array<[string, { host: string; port?: number; ports?: number[] }, SipAddress, boolean]> = [
    ['UDP from the PBX\'s port', pbx, { transport: 'udp', address: '10.0.0.5', port: 5060 }, true],
    ['UDP from another port of its host', pbx, { transport: 'udp', address: '10.0.0.5', port: 5070 }, false],
    ['UDP from elsewhere', pbx, { transport: 'udp', address: '10.0.0.6', port: 5060 }, false],
    ['the connection the edge opened to the PBX', pbx, opened('10.0.0.5', 5060), true],
    ['the connection the edge opened to the PBX by name', byName, opened('10.0.0.5', 5060, { address: 'pbx.tenant.example', port: 5060 }), true],
    ['a connection the edge opened to another port of its host', pbx, opened('10.0.0.5', 5070), false],
    ['a connection the edge opened to a phone', pbx, opened('192.0.2.7', 5060), false],
    ['a connection accepted from the PBX\'s host, another port', pbx, accepted('10.0.0.5', 41234), false],
    ['a connection accepted from the PBX\'s address and port (as before)', pbx, accepted('10.0.0.5', 5060), true],
    ['SRV: UDP from a target\'s port', srv, { transport: 'udp', address: '10.0.0.5', port: 5070 }, true],
    ['SRV: UDP from another port of a target\'s address', srv, { transport: 'udp', address: '10.0.0.5', port: 5099 }, false],
    ['SRV: the targets\' ports not known yet', srvUnknown, { transport: 'udp', address: '10.0.0.5', port: 5070 }, false],
    ['SRV: a connection the edge opened to a target', srv, opened('10.0.0.5', 5080), true],
    ['SRV: a connection accepted from a target\'s address, another port', srv, accepted('10.0.0.5', 41234), false],
    ['SRV: elsewhere', srv, accepted('10.0.0.6', 5070), false],
    ['TLS from anywhere, the client\'s verified certificate naming the PBX', byName, certified('198.51.100.1', 'pbx.tenant.example'), true],
    ['TLS from the PBX\'s host, the certificate naming something else', byName, certified('10.0.0.5', 'phone.tenant.example'), false],
  ];
  const seen = rows.map(([why, p, source]) => [why, isFromPbx(book, p, source)]);
  assert.deepEqual(seen, rows.map(([why, , , expected]) => [why, expected]));
});

test('a request naming a flow token is delivered as the PBX\'s from any UDP port of its host (NAT and conntrack rewrite ports), over TCP/TLS only as isFromPbx says', async () => {
  const book = new HostAddresses({ resolve: async () => ['10.0.0.5'] });
  book.matches('pbx.tenant.example', '10.0.0.5');
  await eventually('the PBX name resolved', () => book.matches('pbx.tenant.example', '10.0.0.5'));
  const pbx = { host: '10.0.0.5', port: 5060 };
  const byName = { host: 'pbx.tenant.example', port: 5060 };
  const rows: Array<[string, { host: string; port?: number }, SipAddress, boolean]> = [
    ['UDP from the PBX\'s port', pbx, { transport: 'udp', address: '10.0.0.5', port: 5060 }, true],
    ['UDP from the port a node\'s conntrack gave it', pbx, { transport: 'udp', address: '10.0.0.5', port: 52425 }, true],
    ['UDP from another port of the named host\'s address', byName, { transport: 'udp', address: '10.0.0.5', port: 40000 }, true],
    ['UDP from elsewhere', pbx, { transport: 'udp', address: '10.0.0.6', port: 5060 }, false],
    ['a TCP connection accepted from the PBX\'s host, another port', pbx, { transport: 'tcp', address: '10.0.0.5', port: 41234, connection: { id: 1 } }, false],
    ['the TCP connection the edge opened to the PBX', pbx, { transport: 'tcp', address: '10.0.0.5', port: 5060, connection: { id: 2, openedTo: { address: '10.0.0.5', port: 5060 } } }, true],
  ];
  // As the edge decides: the PBX itself, or its host over UDP.
  const seen = rows.map(([why, p, source]) => [why, isFromPbx(book, p, source) || isFromPbxHostOverUdp(book, p, source)]);
  assert.deepEqual(seen, rows.map(([why, , , expected]) => [why, expected]));
});
