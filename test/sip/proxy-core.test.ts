/**
 * Proxy core behaviour against raw UDP peers and a second SIP stack over TLS: Max-Forwards,
 * loop detection, retransmission handling on both sides, rate limiting, metrics hook.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Counter, Registry } from 'prom-client';
import { getHeader, getHeaders } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy, type SipProxyOptions } from '../../src/sip/proxy.ts';
import { sendRequest } from '../../src/sip/uac.ts';
import type { SipMessage } from '../../src/sip/message.ts';
import { udpSipPeer } from '../support/udp-sip-peer.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxyWith(options: SipProxyOptions = {}): Promise<SipProxy> {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false, timers: { t1: 50 }, ...options });
  cleanups.push(() => proxy.close());
  await proxy.listen();
  return proxy;
}

const udpPeer = () => udpSipPeer(cleanups);

function request(method: string, peerPort: number, opts: { maxForwards?: number; branch?: string; callId?: string } = {}): string {
  const body = '';
  return [
    `${method} sip:101@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${opts.branch ?? `z9hG4bK${Math.random().toString(16).slice(2)}`};rport`,
    `Max-Forwards: ${opts.maxForwards ?? 70}`,
    'From: <sip:phone@127.0.0.1>;tag=ph1',
    'To: <sip:101@127.0.0.1>',
    `Call-ID: ${opts.callId ?? Math.random().toString(16).slice(2)}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:phone@127.0.0.1:${peerPort}>`,
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

const isResponse = (status: number) => (m: SipMessage): boolean => m.kind === 'response' && m.status === status;

describe('proxy core', { timeout: 60_000 }, () => {
  it('answers 483 when Max-Forwards is exhausted', async () => {
    const proxy = await proxyWith();
    const callee = await udpPeer();
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: callee.port } }));
    const phone = await udpPeer();
    await phone.send(request('MESSAGE', phone.port, { maxForwards: 0 }), proxy.address('udp').port);
    const res = await phone.waitFor(isResponse(483));
    assert.equal(res.kind === 'response' && res.reason, 'Too Many Hops');
    assert.equal(callee.received.length, 0);
  });

  it('answers 482 when a request comes back to us unchanged', async () => {
    const proxy = await proxyWith();
    let seen = 0;
    proxy.on('request', (req) => {
      seen++;
      void req.proxy({ destination: { host: '127.0.0.1', port: proxy.address('udp').port } });
    });
    const phone = await udpPeer();
    await phone.send(request('OPTIONS', phone.port), proxy.address('udp').port);
    const res = await phone.waitFor(isResponse(482));
    assert.equal(getHeaders(res, 'via').length, 1, 'our own Vias were stripped on the way back');
    assert.equal(seen, 2);
  });

  it('absorbs a retransmitted request and resends the last response', async () => {
    const proxy = await proxyWith();
    let handled = 0;
    proxy.on('request', (_req, res) => {
      handled++;
      res.send(200);
    });
    const phone = await udpPeer();
    const text = request('OPTIONS', phone.port, { branch: 'z9hG4bKretrans', callId: 'retrans' });
    await phone.send(text, proxy.address('udp').port);
    await phone.waitFor(isResponse(200));
    await phone.send(text, proxy.address('udp').port);
    const deadline = Date.now() + 3000;
    while (phone.received.length < 2 && Date.now() < deadline) await sleep(10);
    assert.equal(phone.received.length, 2);
    assert.equal(handled, 1);
    assert.equal(getHeader(phone.received[0]!, 'to'), getHeader(phone.received[1]!, 'to'), 'same To-tag both times');
  });

  it('retransmits a forwarded INVITE with Timer A and answers 408 after Timer B', async () => {
    const proxy = await proxyWith();
    const silent = await udpPeer();
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: silent.port } }));
    const phone = await udpPeer();
    await phone.send(request('INVITE', phone.port), proxy.address('udp').port);
    await phone.waitFor(isResponse(100));
    const timeout = await phone.waitFor(isResponse(408), { timeoutMs: 10_000 });
    assert.ok(timeout);
    const invites = silent.received.filter((m) => m.kind === 'request' && m.method === 'INVITE');
    // T1 = 50 ms, Timer B = 3.2 s: sends at 0, 50, 150, 350, 750, 1550 and 3150 ms.
    assert.ok(invites.length >= 5 && invites.length <= 7, `got ${invites.length} INVITE transmissions`);
    const first = invites[0]!;
    assert.match(getHeader(first, 'via')!, /^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]{16}\.[0-9a-f]{16};rport$/);
    assert.equal(getHeader(first, 'max-forwards'), '69');
    assert.match(getHeader(first, 'record-route')!, /^<sip:127\.0\.0\.1:\d+;lr>$/);
    await phone.send(
      [`ACK sip:101@127.0.0.1 SIP/2.0`, getHeaders(timeout, 'via').map((v) => `Via: ${v}`).join('\r\n'), 'Max-Forwards: 70', `From: ${getHeader(timeout, 'from')}`, `To: ${getHeader(timeout, 'to')}`, `Call-ID: ${getHeader(timeout, 'call-id')}`, 'CSeq: 1 ACK', 'Content-Length: 0', '', ''].join('\r\n'),
      proxy.address('udp').port,
    );
  });

  it('drops messages over the per-source rate limit', async () => {
    const proxy = await proxyWith({ limits: { rateLimit: { messagesPerSecond: 1, burst: 5 } } });
    proxy.on('request', (_req, res) => void res.send(200));
    let limited = 0;
    const phone = await udpPeer();
    const limitedProxy = await proxyWith({ limits: { rateLimit: { messagesPerSecond: 1, burst: 5 } }, metrics: { rateLimited: () => limited++ } });
    limitedProxy.on('request', (_req, res) => void res.send(200));
    for (let i = 0; i < 10; i++) await phone.send(request('OPTIONS', phone.port), limitedProxy.address('udp').port);
    const deadline = Date.now() + 3000;
    while (limited + phone.received.length < 10 && Date.now() < deadline) await sleep(10);
    assert.equal(phone.received.length, 5);
    assert.equal(limited, 5);
  });

  it('counts only requests against the rate limit, and never from an exempt source', async () => {
    const phone = await udpPeer();
    const proxy = await proxyWith({ limits: { rateLimit: { messagesPerSecond: 1, burst: 5 } } });
    proxy.on('request', (_req, res) => void res.send(200));
    const stray = ['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKstray', 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>;tag=2', 'Call-ID: stray', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n');
    for (let i = 0; i < 10; i++) await phone.send(stray, proxy.address('udp').port);
    for (let i = 0; i < 5; i++) await phone.send(request('OPTIONS', phone.port), proxy.address('udp').port);
    let deadline = Date.now() + 3000;
    while (phone.received.length < 5 && Date.now() < deadline) await sleep(10);
    assert.equal(phone.received.length, 5, 'ten responses used none of the burst of five');

    const pbx = await udpPeer();
    const trusting = await proxyWith({ limits: { rateLimit: { messagesPerSecond: 1, burst: 5 } }, rateLimitExempt: (address) => address === '127.0.0.1' });
    trusting.on('request', (_req, res) => void res.send(200));
    for (let i = 0; i < 10; i++) await pbx.send(request('OPTIONS', pbx.port), trusting.address('udp').port);
    deadline = Date.now() + 3000;
    while (pbx.received.length < 10 && Date.now() < deadline) await sleep(10);
    assert.equal(pbx.received.length, 10, 'an exempt source is never limited');
  });

  it('feeds prom-client counters through the metrics hook', async () => {
    const registry = new Registry();
    const requests = new Counter({ name: 'sip_requests_total', help: 'SIP requests received', labelNames: ['method'], registers: [registry] });
    const responses = new Counter({ name: 'sip_responses_total', help: 'SIP responses sent', labelNames: ['code'], registers: [registry] });
    const proxy = await proxyWith({
      metrics: { requestReceived: (method) => requests.inc({ method }), responseSent: (code) => responses.inc({ code: String(code) }) },
    });
    proxy.on('request', (_req, res) => void res.send(404));
    const phone = await udpPeer();
    await phone.send(request('OPTIONS', phone.port), proxy.address('udp').port);
    await phone.send(request('FOOBAR', phone.port), proxy.address('udp').port);
    await phone.waitFor(isResponse(404));
    while (phone.received.length < 2) await sleep(10);
    const text = await registry.metrics();
    assert.match(text, /sip_requests_total\{method="OPTIONS"\} 1/);
    assert.match(text, /sip_requests_total\{method="OTHER"\} 1/);
    assert.match(text, /sip_responses_total\{code="404"\} 2/);
  });

  it('sends a request with the caller\'s own Contact alone, or its own when the caller gives none', async () => {
    const proxy = await proxyWith();
    const registrar = await udpPeer();
    registrar.socket.on('message', (data) => {
      const r = parseMessage(data, { framing: 'datagram' });
      if (!r.ok || r.message.kind !== 'request') return;
      const via = getHeader(r.message, 'via')!;
      const head = ['SIP/2.0 200 OK', `Via: ${via}`, ...['from', 'to', 'call-id', 'cseq'].map((h) => `${h}: ${getHeader(r.message, h)}`), 'Content-Length: 0', '', ''];
      void registrar.send(head.join('\r\n'), proxy.address('udp').port);
    });
    const destination = { host: '127.0.0.1', port: registrar.port };
    await sendRequest(proxy, { method: 'REGISTER', uri: 'sip:example.com', headers: [['contact', '<sip:HD0001@127.0.0.1:5062>;expires=60']], destination });
    await sendRequest(proxy, { method: 'OPTIONS', uri: 'sip:example.com', destination });
    const register = await registrar.waitFor((m) => m.kind === 'request' && m.method === 'REGISTER');
    assert.deepEqual(getHeaders(register, 'contact'), ['<sip:HD0001@127.0.0.1:5062>;expires=60']);
    const options = await registrar.waitFor((m) => m.kind === 'request' && m.method === 'OPTIONS');
    assert.match(getHeaders(options, 'contact').join(','), /^<sip:edge@127\.0\.0\.1:\d+>$/);
  });

  it('sends a NOTIFY over TLS, reusing the connection for the response', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sip-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const cert = await readFile(join(dir, 'cert.pem'));
    const key = await readFile(join(dir, 'key.pem'));
    const phone = await proxyWith({ udpPort: false, tls: { port: 0, cert, key } });
    const seen: string[] = [];
    phone.on('request', (req, res) => {
      seen.push(`${req.method} ${req.get('event')} via ${req.source.transport}`);
      res.send(200);
    });
    const edge = await proxyWith({ udpPort: false, tls: { port: 0, cert, key, ca: cert } });
    const phonePort = phone.address('tls').port;
    const response = await sendRequest(edge, { method: 'NOTIFY', uri: `sips:HD0001@127.0.0.1:${phonePort}`, headers: [['event', 'check-sync;reboot=false'], ['subscription-state', 'terminated']] });
    assert.equal(response.status, 200);
    assert.deepEqual(seen, ['NOTIFY check-sync;reboot=false via tls']);
  });
});
