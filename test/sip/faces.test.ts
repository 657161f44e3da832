/**
 * The proxy's faces: a next hop that reaches us on another host (an in-cluster PBX on the pod IP)
 * finds that host in our Via and Record-Route, the other side the advertised one; Record-Route is
 * doubled when the two differ, and in-dialog requests from either side come back through us.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { getHeader, getHeaders, type SipMessage } from '../../src/sip/message.ts';
import { SipProxy, type SipProxyOptions } from '../../src/sip/proxy.ts';
import { udpSipPeer } from '../support/udp-sip-peer.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer() {
  const p = await udpSipPeer(cleanups);
  return {
    port: p.port,
    received: p.received,
    send: (lines: string[], to: number) => p.send(lines.join('\r\n'), to),
    waitFor: (what: string, predicate: (m: SipMessage) => boolean) => p.waitFor(predicate, { what }),
  };
}

async function proxyFacing(pbxPort: number, options: Partial<SipProxyOptions> = {}): Promise<SipProxy> {
  const proxy = new SipProxy({
    host: '127.0.0.1',
    advertisedHost: '127.0.0.4',
    advertisedHostFor: (d) => (d.port === pbxPort ? '127.0.0.5' : undefined),
    otherOwnHosts: ['127.0.0.5'],
    udpPort: 0,
    tcpPort: false,
    timers: { t1: 50 },
    ...options,
  });
  cleanups.push(() => proxy.close());
  proxy.on('request', (req) => void req.proxy(req.source.port === pbxPort ? { destination: { host: '127.0.0.1', port: 1 } } : { destination: { host: '127.0.0.1', port: pbxPort } }));
  await proxy.listen();
  return proxy;
}

const invite = (port: number, callId: string) => [
  'INVITE sip:101@pbx.example SIP/2.0',
  `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${callId};rport`,
  'Max-Forwards: 70',
  'From: <sip:phone@pbx.example>;tag=ph1',
  'To: <sip:101@pbx.example>',
  `Call-ID: ${callId}`,
  'CSeq: 1 INVITE',
  `Contact: <sip:phone@127.0.0.1:${port}>`,
  'Content-Length: 0',
  '',
  '',
];

const isRequest = (method: string) => (m: SipMessage) => m.kind === 'request' && m.method === method;

describe('the proxy\'s faces', { timeout: 30_000 }, () => {
  it('hostFor: the chosen host per destination, the advertised one otherwise and without a destination', async () => {
    const proxy = await proxyFacing(7000);
    assert.equal(proxy.hostFor({ transport: 'udp', address: '127.0.0.1', port: 7000 }), '127.0.0.5');
    assert.equal(proxy.hostFor({ transport: 'udp', address: '127.0.0.1', port: 7001 }), '127.0.0.4');
    assert.equal(proxy.hostFor(), '127.0.0.4');
    assert.match(proxy.localVia('udp', undefined, { transport: 'udp', address: '127.0.0.1', port: 7000 }), /^SIP\/2\.0\/UDP 127\.0\.0\.5:\d+;/);
    assert.match(proxy.localUri('udp', 'edge', '', { transport: 'udp', address: '127.0.0.1', port: 7001 }), /^sip:edge@127\.0\.0\.4:\d+$/);
  });

  it('writes two Record-Routes when the sides see different hosts, and each side\'s in-dialog request passes', async () => {
    const pbx = await peer();
    const phone = await peer();
    const proxy = await proxyFacing(pbx.port);
    const port = proxy.address('udp').port;
    await phone.send(invite(phone.port, 'faces1'), port);
    const forwarded = await pbx.waitFor('INVITE at the PBX', isRequest('INVITE'));
    assert.match(getHeader(forwarded, 'via')!, new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.5:${port};`), 'the PBX sees its own face in our Via');
    assert.deepEqual(getHeaders(forwarded, 'record-route'), [`<sip:127.0.0.5:${port};lr>`, `<sip:127.0.0.4:${port};lr>`], 'top for the callee, next for the caller');

    // The PBX hangs up: its route set is the Record-Route in order.
    await pbx.send([
      'BYE sip:phone@127.0.0.1:' + phone.port + ' SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${pbx.port};branch=z9hG4bKbye1`,
      'Max-Forwards: 70',
      `Route: <sip:127.0.0.5:${port};lr>, <sip:127.0.0.4:${port};lr>`,
      'From: <sip:101@pbx.example>;tag=pbx1',
      'To: <sip:phone@pbx.example>;tag=ph1',
      'Call-ID: faces1',
      'CSeq: 1 BYE',
      'Content-Length: 0',
      '',
      '',
    ], port);
    const bye = await phone.waitFor('BYE at the phone', isRequest('BYE'));
    assert.match(getHeader(bye, 'via')!, new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.4:${port};`), 'the phone sees the advertised host');
    assert.equal(getHeader(bye, 'route'), undefined, 'both of our Routes were popped');

    // The phone hangs up the other way (its route set reversed).
    await phone.send([
      'BYE sip:101@127.0.0.1:' + pbx.port + ' SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKbye2`,
      'Max-Forwards: 70',
      `Route: <sip:127.0.0.4:${port};lr>, <sip:127.0.0.5:${port};lr>`,
      'From: <sip:phone@pbx.example>;tag=ph1',
      'To: <sip:101@pbx.example>;tag=pbx1',
      'Call-ID: faces1',
      'CSeq: 2 BYE',
      'Content-Length: 0',
      '',
      '',
    ], port);
    const bye2 = await pbx.waitFor('BYE at the PBX', isRequest('BYE'));
    assert.match(getHeader(bye2, 'via')!, /^SIP\/2\.0\/UDP 127\.0\.0\.5:/);
    assert.equal(getHeader(bye2, 'route'), undefined);
  });

  it('writes one Record-Route when both sides see the same host and transport', async () => {
    const pbx = await peer();
    const phone = await peer();
    const proxy = await proxyFacing(pbx.port, { advertisedHostFor: () => undefined });
    await phone.send(invite(phone.port, 'faces2'), proxy.address('udp').port);
    const forwarded = await pbx.waitFor('INVITE at the PBX', isRequest('INVITE'));
    assert.deepEqual(getHeaders(forwarded, 'record-route'), [`<sip:127.0.0.4:${proxy.address('udp').port};lr>`]);
  });
});
