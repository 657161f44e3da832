/**
 * The PBX found in DNS (SRV, then A) through a real UDP DNS exchange with a tiny test server, and
 * failover: the first SRV target is down, so a SIPp call reaches the second; the answers are
 * cached for their TTL (at least 5 s). A UDP target that says nothing at all is given up after
 * 8 T1 rather than Timer B's 64; one that sent 100 Trying is not.
 */
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { afterEach, describe, it } from 'node:test';
import { PbxResolver, type DnsLookups } from '../../src/edge/pbx-resolver.ts';
import { shouldTryNextTarget } from '../../src/edge/pbx-targets.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { getHeader, type SipMessage } from '../../src/sip/message.ts';
import { startTinyDns, type Zone } from '../support/tiny-dns.ts';
import { udpSipPeer, type UdpSipPeer } from '../support/udp-sip-peer.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from '../sip/sipp.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function resolverFor(zone: Zone, now?: () => number) {
  const dns = await startTinyDns(zone);
  cleanups.push(() => dns.close());
  const lookups = new Resolver({ timeout: 2_000, tries: 1 });
  lookups.setServers([dns.server]);
  return { dns, resolver: new PbxResolver({ dns: lookups as unknown as DnsLookups, ...(now ? { now } : {}) }) };
}

describe('the PBX in DNS', { timeout: 90_000 }, () => {
  it('SRV targets in priority order with their ports; A records when there is no SRV; a port or an IP skips DNS', async () => {
    const { resolver, dns } = await resolverFor({
      '_sip._udp.pbx.test': { srv: [{ priority: 20, weight: 0, port: 5070, target: 'pbx2.test' }, { priority: 10, weight: 0, port: 5080, target: 'pbx1.test' }] },
      'pbx1.test': { a: ['192.0.2.1'] },
      'pbx2.test': { a: ['192.0.2.2'], aaaa: ['2001:db8::2'] },
      'plain.test': { a: ['192.0.2.9'] },
    });
    assert.deepEqual(await resolver.targets({ host: 'pbx.test', transport: 'udp' }), [
      { host: '192.0.2.1', port: 5080, transport: 'udp' },
      { host: '192.0.2.2', port: 5070, transport: 'udp' },
      { host: '2001:db8::2', port: 5070, transport: 'udp' },
    ]);
    assert.deepEqual(await resolver.targets({ host: 'plain.test', transport: 'tcp' }), [{ host: '192.0.2.9', port: 5060, transport: 'tcp' }]);
    assert.deepEqual((await resolver.addresses({ host: 'pbx.test', transport: 'udp' })).sort(), ['192.0.2.1', '192.0.2.2', '2001:db8::2']);
    // The ports its requests may come from: the targets', once looked up; as written, or the default, without DNS.
    assert.deepEqual(resolver.knownPorts({ host: 'pbx.test', transport: 'udp' })?.sort(), [5070, 5080]);
    assert.equal(resolver.knownPorts({ host: 'pbx.test', transport: 'tcp' }), undefined, 'not looked up over TCP yet');
    assert.deepEqual(resolver.knownPorts({ host: 'pbx.test', port: 5099 }), [5099]);
    assert.deepEqual(resolver.knownPorts({ host: '192.0.2.7', transport: 'tls' }), [5061]);
    const asked = dns.questions.length;
    assert.deepEqual(await resolver.targets({ host: 'pbx.test', port: 5060, transport: 'udp' }), [{ host: 'pbx.test', port: 5060, transport: 'udp' }]);
    assert.deepEqual(await resolver.targets({ host: '192.0.2.7' }), [{ host: '192.0.2.7', port: 5060, transport: 'udp' }]);
    assert.equal(dns.questions.length, asked, 'no lookups for a PBX with a port or an IP');
    assert.deepEqual(await resolver.targets({ host: 'missing.test', transport: 'tls' }), [{ host: 'missing.test', port: 5061, transport: 'tls' }], 'nothing in DNS: the name as written');
  });

  it('caches by TTL, never less than 5 s', async () => {
    let now = 1_000_000;
    const { resolver, dns } = await resolverFor({ '_sip._udp.pbx.test': { srv: [{ priority: 1, weight: 0, port: 5060, target: 'pbx1.test' }], ttl: 1 }, 'pbx1.test': { a: ['192.0.2.1'], ttl: 1 } }, () => now);
    await resolver.targets({ host: 'pbx.test' });
    const asked = dns.questions.length;
    now += 4_000;
    await resolver.targets({ host: 'pbx.test' });
    assert.equal(dns.questions.length, asked, 'a 1 s TTL is kept 5 s');
    now += 1_500;
    await resolver.targets({ host: 'pbx.test' });
    assert.ok(dns.questions.length > asked, 'looked up again after 5 s');
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`with SIPp over ${transport}: the first SRV target is down, the call goes to the second`, async () => {
      const downPort = await freeLoopbackPort();
      const upPort = await freeLoopbackPort();
      const { resolver } = await resolverFor({
        [`_sip._${transport}.pbx.test`]: { srv: [{ priority: 10, weight: 0, port: downPort, target: 'pbx1.test' }, { priority: 20, weight: 0, port: upPort, target: 'pbx2.test' }] },
        'pbx1.test': { a: ['127.0.0.1'] },
        'pbx2.test': { a: ['127.0.0.1'] },
      });
      const port = await freeLoopbackPort();
      const proxy = new SipProxy({ host: '127.0.0.1', udpPort: port, tcpPort: port, timers: { t1: 50 } });
      cleanups.push(() => proxy.close());
      const tried: number[] = [];
      proxy.on('request', async (req) => {
        const [first, ...rest] = await resolver.targets({ host: 'pbx.test', transport });
        tried.push(first!.port);
        await req.proxy({ destination: first!, alternatives: rest, tryNext: shouldTryNextTarget });
      });
      await proxy.listen();
      const running: SippRun[] = [];
      cleanups.push(() => running.forEach((r) => r.kill()));
      const pbx = await startSipp({ scenario: 'uas-answer.xml', port: upPort, transport });
      running.push(pbx);
      await waitForListener(upPort, transport);
      const phone = await startSipp({ scenario: 'uac-call.xml', port: await freeLoopbackPort(), transport, remote: `127.0.0.1:${port}`, service: '101' });
      running.push(phone);
      const [phoneResult, pbxResult] = await Promise.all([phone.done, pbx.done]);
      const both = `SIPp phone:\n${phoneResult.output}\nSIPp PBX:\n${pbxResult.output}`;
      assert.equal(phoneResult.code, 0, both);
      assert.equal(pbxResult.code, 0, both);
      assert.equal(tried[0], downPort, 'the first target tried was the one down');
    });
  }
});

describe('a silent UDP target', { timeout: 60_000 }, () => {
  const T1 = 100;
  const isInvite = (m: SipMessage) => m.kind === 'request' && m.method === 'INVITE';
  const invite = (phone: UdpSipPeer, callId: string) => [
    'INVITE sip:101@pbx.test SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${callId};rport`, 'Max-Forwards: 70',
    'From: <sip:phone@pbx.test>;tag=p1', 'To: <sip:101@pbx.test>', `Call-ID: ${callId}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', '',
  ].join('\r\n');
  const answer = (to: SipMessage, status: string) => [
    `SIP/2.0 ${status}`, ...to.headers.filter((h) => h.name === 'via').map((h) => `Via: ${h.value}`),
    `From: ${getHeader(to, 'from')}`, `To: ${getHeader(to, 'to')}${status.startsWith('100') ? '' : ';tag=pbx'}`, `Call-ID: ${getHeader(to, 'call-id')}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', '',
  ].join('\r\n');

  /** A proxy sending every request to `first`, with `second` as the alternative (as SRV would name them). */
  async function proxyWithTargets(first: UdpSipPeer, second: UdpSipPeer): Promise<number> {
    const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false, timers: { t1: T1 } });
    cleanups.push(() => proxy.close());
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: first.port }, alternatives: [{ host: '127.0.0.1', port: second.port }], tryNext: shouldTryNextTarget }));
    await proxy.listen();
    return proxy.address('udp').port;
  }

  it('is given up after 8 T1 without a single response, long before Timer B; the next target answers the call', async () => {
    const [phone, silent, next] = [await udpSipPeer(cleanups), await udpSipPeer(cleanups), await udpSipPeer(cleanups)];
    const proxyPort = await proxyWithTargets(silent, next);
    await phone.send(invite(phone, 'silent-first'), proxyPort);
    await silent.waitFor(isInvite, { what: 'the INVITE at the silent target' });
    const firstAt = Date.now();
    const forwarded = await next.waitFor(isInvite, { timeoutMs: 64 * T1, what: 'the INVITE at the next target, before Timer B' });
    const after = Date.now() - firstAt;
    assert.ok(after >= 8 * T1 - 50 && after < 16 * T1, `next target tried ${after} ms after the first (8 T1 = ${8 * T1} ms)`);
    await next.send(answer(forwarded, '200 OK'), proxyPort);
    await phone.waitFor((m) => m.kind === 'response' && m.status === 200, { what: 'the 200 at the phone' });
    // The silent target is left alone: no more retransmissions to it.
    const tries = silent.received.filter(isInvite).length;
    await new Promise((r) => setTimeout(r, 8 * T1));
    assert.equal(silent.received.filter(isInvite).length, tries, 'retransmissions to the given-up target stopped');
  });

  it('one that sent 100 Trying keeps the request: normal timers apply', async () => {
    const [phone, slow, next] = [await udpSipPeer(cleanups), await udpSipPeer(cleanups), await udpSipPeer(cleanups)];
    const proxyPort = await proxyWithTargets(slow, next);
    await phone.send(invite(phone, 'trying-first'), proxyPort);
    const forwarded = await slow.waitFor(isInvite, { what: 'the INVITE at the first target' });
    await slow.send(answer(forwarded, '100 Trying'), proxyPort);
    await new Promise((r) => setTimeout(r, 24 * T1));
    assert.equal(next.received.length, 0, 'the next target got nothing');
    await slow.send(answer(forwarded, '486 Busy Here'), proxyPort);
    const final = await phone.waitFor((m) => m.kind === 'response' && m.status >= 200, { what: 'the final answer at the phone' });
    assert.equal(final.kind === 'response' && final.status, 486);
  });
});
