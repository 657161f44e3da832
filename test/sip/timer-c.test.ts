/**
 * Timer C (RFC 3261 §16.6 step 11, §16.8), shortened: a callee that rings and never answers is
 * CANCELled and the caller hears its 487 (real SIPp on both sides); one that says nothing at all
 * gets the caller a 408 before Timer B; a provisional restarts the timer. A callee that answers
 * after all, once the caller has had the 408, still gets its 2xx to the caller, and the caller's ACK
 * back through the proxy (RFC 3261 §16.7 step 5: a proxy forwards every 2xx to an INVITE).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { getHeader, type SipMessage } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { eventually } from '../support/eventually.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from './sipp.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxyTo(port: number, c: number): Promise<SipProxy> {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false, timers: { t1: 200, c } });
  cleanups.push(() => proxy.close());
  proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port } }));
  await proxy.listen();
  return proxy;
}

async function rawPeer() {
  const socket = createSocket('udp4');
  await new Promise<void>((res) => socket.bind(0, '127.0.0.1', () => res()));
  cleanups.push(() => new Promise<void>((res) => socket.close(() => res())));
  const received: Array<{ message: SipMessage; at: number }> = [];
  socket.on('message', (data) => {
    const r = parseMessage(data, { framing: 'datagram' });
    if (r.ok) received.push({ message: r.message, at: Date.now() });
  });
  return {
    port: socket.address().port,
    received,
    send: (text: string, port: number) => new Promise<void>((res, rej) => socket.send(Buffer.from(text), port, '127.0.0.1', (e) => (e ? rej(e) : res()))),
  };
}

const invite = (port: number, callId: string) => [
  'INVITE sip:101@pbx.example SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${callId};rport`, 'Max-Forwards: 70',
  'From: <sip:phone@pbx.example>;tag=c1', 'To: <sip:101@pbx.example>', `Call-ID: ${callId}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', '',
].join('\r\n');

const statusOf = (m: SipMessage) => (m.kind === 'response' ? m.status : 0);
const methodOf = (m: SipMessage) => (m.kind === 'request' ? m.method : '');

describe('Timer C', { timeout: 60_000 }, () => {
  it('with SIPp: a callee ringing without end is CANCELled and the caller gets its 487', async () => {
    const uasPort = await freeLoopbackPort();
    const proxy = await proxyTo(uasPort, 1_500);
    const running: SippRun[] = [];
    cleanups.push(() => running.forEach((r) => r.kill()));
    const uas = await startSipp({ scenario: 'uas-cancelled.xml', port: uasPort, transport: 'udp', timeoutSeconds: 20 });
    running.push(uas);
    await waitForListener(uasPort, 'udp');
    const started = Date.now();
    const uac = await startSipp({ scenario: 'timer-c-uac.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${proxy.address('udp').port}`, service: '101', timeoutSeconds: 20 });
    running.push(uac);
    const [uacResult, uasResult] = await Promise.all([uac.done, uas.done]);
    const both = `SIPp caller:\n${uacResult.output}\nSIPp callee:\n${uasResult.output}`;
    assert.equal(uacResult.code, 0, both);
    assert.equal(uasResult.code, 0, both);
    assert.ok(Date.now() - started >= 1_500, 'not before Timer C');
  });

  it('a callee that never answers at all: 408 upstream when Timer C fires, before Timer B', async () => {
    const callee = await rawPeer();
    const phone = await rawPeer();
    const proxy = await proxyTo(callee.port, 1_000);
    const sentAt = Date.now();
    await phone.send(invite(phone.port, 'silent'), proxy.address('udp').port);
    const final = await eventually('a final response', () => phone.received.find((r) => statusOf(r.message) >= 200), 10_000, 20);
    assert.equal(statusOf(final.message), 408);
    const after = final.at - sentAt;
    assert.ok(after >= 950 && after < 64 * 200, `408 after ${after} ms: Timer C (1 s), not Timer B (12.8 s)`);
    assert.ok(!callee.received.some((r) => methodOf(r.message) === 'CANCEL'), 'nothing to CANCEL without a provisional');
  });

  it('each provisional restarts Timer C', async () => {
    const callee = await rawPeer();
    const phone = await rawPeer();
    const proxy = await proxyTo(callee.port, 800);
    await phone.send(invite(phone.port, 'ringing'), proxy.address('udp').port);
    const forwarded = (await eventually('the INVITE at the callee', () => callee.received.find((r) => methodOf(r.message) === 'INVITE'), 5_000, 10)).message;
    const ring = (seq: number) => [
      'SIP/2.0 180 Ringing', `Via: ${getHeader(forwarded, 'via')}`, ...forwardedVias(forwarded).slice(1).map((v) => `Via: ${v}`),
      `From: ${getHeader(forwarded, 'from')}`, `To: ${getHeader(forwarded, 'to')};tag=callee${seq}`, `Call-ID: ${getHeader(forwarded, 'call-id')}`,
      'CSeq: 1 INVITE', 'Content-Length: 0', '', '',
    ].join('\r\n');
    const firstRingAt = Date.now();
    for (let i = 0; i < 3; i++) {
      await callee.send(ring(i), proxy.address('udp').port);
      await new Promise((r) => setTimeout(r, 500));
    }
    // Three rings 500 ms apart: without the restarts Timer C (800 ms) would have fired after the first.
    const cancel = await eventually('the CANCEL', () => callee.received.find((r) => methodOf(r.message) === 'CANCEL'), 5_000, 10);
    assert.ok(cancel.at - firstRingAt >= 1_000 + 800 - 50, `CANCEL ${cancel.at - firstRingAt} ms after the first ring`);
  });
});

describe('Timer C and a late 2xx', { timeout: 60_000 }, () => {
  /** A caller and a callee through a proxy with short timers; `answer` writes the callee's responses. */
  async function call(callId: string, timers: { t1: number; t4?: number; c: number }) {
    const callee = await rawPeer();
    const phone = await rawPeer();
    const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false, timers });
    cleanups.push(() => proxy.close());
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: callee.port } }));
    await proxy.listen();
    const proxyPort = proxy.address('udp').port;
    await phone.send(invite(phone.port, callId), proxyPort);
    const forwarded = (await eventually('the INVITE at the callee', () => callee.received.find((r) => methodOf(r.message) === 'INVITE'), 5_000, 10)).message;
    const answer = (status: string, to: SipMessage = forwarded) => callee.send([
      `SIP/2.0 ${status}`, ...forwardedVias(to).map((v) => `Via: ${v}`), ...to.headers.filter((h) => h.name === 'record-route').map((h) => `Record-Route: ${h.value}`),
      `From: ${getHeader(to, 'from')}`, `To: ${getHeader(to, 'to')};tag=callee`, `Call-ID: ${getHeader(to, 'call-id')}`,
      `CSeq: ${getHeader(to, 'cseq')}`, `Contact: <sip:callee@127.0.0.1:${callee.port}>`, 'Content-Length: 0', '', '',
    ].join('\r\n'), proxyPort);
    const timedOut = async () => {
      const final = await eventually('the 408', () => phone.received.find((r) => statusOf(r.message) >= 200), 5_000, 10);
      assert.equal(statusOf(final.message), 408);
    };
    /** The callee's 200 reaches the caller after the 408, and the caller's ACK goes back through the proxy. */
    const lateAnswerReachesCaller = async () => {
      await answer('200 OK');
      const late = (await eventually('the late 200 at the caller', () => phone.received.find((r) => statusOf(r.message) === 200 && getHeader(r.message, 'cseq') === '1 INVITE'), 5_000, 10)).message;
      assert.match(getHeader(late, 'to') ?? '', /tag=callee/);
      assert.equal(forwardedVias(late).length, 1, 'only the caller\'s own Via left');
      const routes = late.headers.filter((h) => h.name === 'record-route').map((h) => `Route: ${h.value}`);
      assert.ok(routes.length > 0, 'the proxy record-routed the call');
      await phone.send([
        `ACK sip:callee@127.0.0.1:${callee.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${callId}ack;rport`, 'Max-Forwards: 70', ...routes,
        'From: <sip:phone@pbx.example>;tag=c1', `To: ${getHeader(late, 'to')}`, `Call-ID: ${callId}`, 'CSeq: 1 ACK', 'Content-Length: 0', '', '',
      ].join('\r\n'), proxyPort);
      await eventually('the ACK at the callee', () => callee.received.find((r) => methodOf(r.message) === 'ACK' && getHeader(r.message, 'call-id') === callId), 5_000, 10);
    };
    return { proxy, callee, answer, timedOut, lateAnswerReachesCaller };
  }

  it('a callee that rang, ignored the CANCEL and answered after the caller\'s 408: its transaction is given up, yet the 200 and the ACK pass', async () => {
    const { proxy, callee, answer, timedOut, lateAnswerReachesCaller } = await call('late-ringing', { t1: 50, t4: 100, c: 500 });
    await answer('180 Ringing');
    // Timer C CANCELs the ringing branch; the callee takes the CANCEL but goes on ringing, and the caller gets 408 a Timer C later.
    const cancel = (await eventually('the CANCEL', () => callee.received.find((r) => methodOf(r.message) === 'CANCEL'), 5_000, 10)).message;
    await answer('200 OK', cancel);
    await timedOut();
    await eventually('no client transaction left', () => proxy.transactionCounts.client === 0, 5_000, 10);
    await lateAnswerReachesCaller();
  });

  it('a callee that said nothing until after the caller\'s 408 (before Timer B): the 200 and the ACK pass', async () => {
    const { timedOut, lateAnswerReachesCaller } = await call('late-silent', { t1: 200, c: 500 });
    await timedOut();
    await lateAnswerReachesCaller();
  });
});

function forwardedVias(message: SipMessage): string[] {
  return message.headers.filter((h) => h.name === 'via').map((h) => h.value);
}
