/**
 * End-to-end against real SIPp: calls through the proxy over UDP and TCP, CANCEL, a call the
 * proxy answers itself and hangs up, a check-sync NOTIFY, and malformed input on a live proxy.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SipProxy } from '../../src/sip/proxy.ts';
import { answer, type UasDialog } from '../../src/sip/uas.ts';
import { sendCheckSync } from '../../src/sip/uac.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from './sipp.ts';

const running: SippRun[] = [];
const proxies: SipProxy[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) run.kill();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
after(() => {
  for (const run of running) run.kill();
});

interface Counters {
  requests: Map<string, number>;
  responses: Map<number, number>;
  parseErrors: string[];
}

async function startProxy(route: (port: number) => { port: number; transport: 'udp' | 'tcp' } | undefined, maxMessageBytes = 16 * 1024): Promise<{ proxy: SipProxy; port: number; counters: Counters }> {
  const counters: Counters = { requests: new Map(), responses: new Map(), parseErrors: [] };
  const port = await freeLoopbackPort();
  const proxy = new SipProxy({
    host: '127.0.0.1',
    udpPort: port,
    tcpPort: port,
    timers: { t1: 200 },
    limits: { maxMessageBytes },
    metrics: {
      requestReceived: (m) => counters.requests.set(m, (counters.requests.get(m) ?? 0) + 1),
      responseSent: (s) => counters.responses.set(s, (counters.responses.get(s) ?? 0) + 1),
      parseError: (r) => counters.parseErrors.push(r),
    },
  });
  proxies.push(proxy);
  proxy.on('request', (req) => {
    const target = route(port);
    if (target) void req.proxy({ destination: { host: '127.0.0.1', ...target } });
  });
  await proxy.listen();
  return { proxy, port, counters };
}

async function runCallThroughProxy(transport: 'udp' | 'tcp'): Promise<Counters> {
  const uasPort = await freeLoopbackPort();
  const { port, counters } = await startProxy(() => ({ port: uasPort, transport }));
  const uas = await startSipp({ scenario: 'uas-answer.xml', port: uasPort, transport });
  running.push(uas);
  await waitForListener(uasPort, transport);
  const uac = await startSipp({ scenario: 'uac-call.xml', port: await freeLoopbackPort(), transport, remote: `127.0.0.1:${port}`, service: '101' });
  running.push(uac);
  const [uacResult, uasResult] = await Promise.all([uac.done, uas.done]);
  assert.equal(uacResult.code, 0, `SIPp UAC failed:\n${uacResult.output}`);
  assert.equal(uasResult.code, 0, `SIPp UAS failed:\n${uasResult.output}`);
  return counters;
}

describe('SIPp through the proxy', { timeout: 120_000 }, () => {
  it('completes INVITE/180/200/ACK/BYE over UDP, ACK and BYE loose-routed through us', async () => {
    const counters = await runCallThroughProxy('udp');
    assert.ok((counters.requests.get('INVITE') ?? 0) >= 1);
    assert.ok((counters.requests.get('ACK') ?? 0) >= 1, 'the ACK passed through the proxy (Record-Route)');
    assert.ok((counters.requests.get('BYE') ?? 0) >= 1, 'the BYE passed through the proxy (Record-Route)');
    assert.ok((counters.responses.get(100) ?? 0) >= 1, '100 Trying generated locally');
    assert.ok((counters.responses.get(200) ?? 0) >= 2, '200 for INVITE and BYE forwarded upstream');
  });

  it('completes the same call over TCP', async () => {
    const counters = await runCallThroughProxy('tcp');
    assert.ok((counters.requests.get('BYE') ?? 0) >= 1);
  });

  it('forwards CANCEL to the ringing callee and relays its 487', async () => {
    const uasPort = await freeLoopbackPort();
    const { port, counters } = await startProxy(() => ({ port: uasPort, transport: 'udp' }));
    const uas = await startSipp({ scenario: 'uas-cancelled.xml', port: uasPort, transport: 'udp' });
    running.push(uas);
    await waitForListener(uasPort, 'udp');
    const uac = await startSipp({ scenario: 'uac-cancel.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${port}`, service: '101' });
    running.push(uac);
    const [uacResult, uasResult] = await Promise.all([uac.done, uas.done]);
    assert.equal(uacResult.code, 0, `SIPp UAC failed:\n${uacResult.output}`);
    assert.equal(uasResult.code, 0, `SIPp UAS failed:\n${uasResult.output}`);
    assert.ok((counters.responses.get(487) ?? 0) >= 1);
  });

  it('answers a call locally with SDP and hangs up with BYE', async () => {
    const { proxy, port } = await startProxy(() => undefined);
    const dialogs: UasDialog[] = [];
    proxy.on('request', (req, res) => {
      if (req.method !== 'INVITE') return;
      const dialog = answer(proxy, req, res, { body: `v=0\r\no=edge 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n` });
      dialogs.push(dialog);
      void dialog.waitForAck().then(async (acked) => {
        if (acked) await dialog.bye().catch(() => undefined);
      });
    });
    const uac = await startSipp({ scenario: 'uac-local-answer.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${port}`, service: '*77*101*' });
    running.push(uac);
    const result = await uac.done;
    assert.equal(result.code, 0, `SIPp UAC failed:\n${result.output}`);
    assert.equal(dialogs.length, 1);
    assert.equal(dialogs[0]!.acknowledged, true);
    assert.equal(dialogs[0]!.ended, true);
  });

  it('sends a check-sync NOTIFY that a SIPp phone answers with 200', async () => {
    const { proxy } = await startProxy(() => undefined);
    const phonePort = await freeLoopbackPort();
    const phone = await startSipp({ scenario: 'uas-notify.xml', port: phonePort, transport: 'udp' });
    running.push(phone);
    await waitForListener(phonePort, 'udp');
    const response = await sendCheckSync(proxy, `sip:HD0001@127.0.0.1:${phonePort}`);
    assert.equal(response.status, 200);
    const result = await phone.done;
    assert.equal(result.code, 0, `SIPp phone failed:\n${result.output}`);
  });

  it('answers malformed datagrams with 400 or drops them, then serves the next call', async () => {
    const uasPort = await freeLoopbackPort();
    const { port, counters } = await startProxy(() => ({ port: uasPort, transport: 'udp' }));
    const probe = createSocket('udp4');
    await new Promise<void>((res) => probe.bind(0, '127.0.0.1', () => res()));
    const probePort = probe.address().port;
    const replies: string[] = [];
    probe.on('message', (msg) => replies.push(msg.toString()));
    const send = (data: Buffer | string): Promise<void> =>
      new Promise((res, rej) => probe.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    try {
      await send(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x81, 0x0d, 0x0a, 0x0d, 0x0a, 0x42]));
      await send(`INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${probePort};branch=z9hG4bKbig\r\nContent-Length: 0\r\n\r\n${'X'.repeat(20_000)}`);
      await send(
        `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${probePort};branch=z9hG4bKnocallid\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
      );
      const deadline = Date.now() + 5000;
      while (replies.length === 0 && Date.now() < deadline) await sleep(20);
      assert.equal(replies.length, 1, 'only the message with a usable Via is answered');
      assert.match(replies[0]!, /^SIP\/2\.0 400 Missing Call-ID\r\n/);
      assert.deepEqual(counters.parseErrors.sort(), ['bad-start-line', 'message-too-large', 'missing-header']);
    } finally {
      probe.close();
    }
    const uas = await startSipp({ scenario: 'uas-answer.xml', port: uasPort, transport: 'udp' });
    running.push(uas);
    await waitForListener(uasPort, 'udp');
    const uac = await startSipp({ scenario: 'uac-call.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${port}`, service: '101' });
    running.push(uac);
    const [uacResult, uasResult] = await Promise.all([uac.done, uas.done]);
    assert.equal(uacResult.code, 0, `SIPp UAC failed:\n${uacResult.output}`);
    assert.equal(uasResult.code, 0, `SIPp UAS failed:\n${uasResult.output}`);
  });
});
