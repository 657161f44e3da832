/**
 * A call the edge answers itself from a phone behind NAT: the phone's Contact names its LAN
 * address, which the edge cannot reach; the edge's BYE goes to where the INVITE came from.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { SipProxy } from '../../src/sip/proxy.ts';
import { answer } from '../../src/sip/uas.ts';
import { freeLoopbackPort } from '../support/ports.ts';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

test('without a route set, the BYE of a locally answered call goes to the INVITE\'s source, not its Contact', async () => {
  const port = await freeLoopbackPort();
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: port, tcpPort: false, timers: { t1: 100 } });
  await proxy.listen();
  closers.push(() => proxy.close());
  proxy.on('request', (req, res) => {
    if (req.method !== 'INVITE') return;
    const dialog = answer(proxy, req, res);
    void dialog.waitForAck().then((acked) => (acked ? dialog.bye().catch(() => undefined) : undefined));
  });

  const phone = createSocket('udp4');
  phone.bind(0, '127.0.0.1');
  await once(phone, 'listening');
  closers.push(() => new Promise((r) => phone.close(() => r())));
  const received: string[] = [];
  let arrived: () => void = () => undefined;
  phone.on('message', (m) => {
    received.push(m.toString('latin1'));
    arrived();
  });
  const next = async (pattern: RegExp): Promise<string> => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = received.find((m) => pattern.test(m));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`nothing matching ${pattern} arrived; got:\n${received.join('\n---\n')}`);
      await Promise.race([new Promise<void>((r) => (arrived = r)), new Promise((r) => setTimeout(r, 100))]);
    }
  };
  const send = (text: string) => new Promise<void>((r) => phone.send(Buffer.from(text.replaceAll('\n', '\r\n')), port, '127.0.0.1', () => r()));
  const me = `127.0.0.1:${phone.address().port}`;
  const common = `From: <sip:HD0001@example.com>;tag=nat1\nTo: <sip:*77*101*@example.com>`;
  // The Contact names the phone's LAN address, as a phone behind NAT writes it.
  await send(`INVITE sip:*77*101*@example.com SIP/2.0\nVia: SIP/2.0/UDP ${me};branch=z9hG4bK-nat-1;rport\nMax-Forwards: 70\n${common}\nCall-ID: nat-call-1\nCSeq: 1 INVITE\nContact: <sip:HD0001@192.0.2.77:5062>\nContent-Length: 0\n\n`);
  const ok = await next(/^SIP\/2\.0 200/);
  const toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(ok)?.[1];
  assert.ok(toTag, ok);
  await send(`ACK sip:edge@127.0.0.1:${port} SIP/2.0\nVia: SIP/2.0/UDP ${me};branch=z9hG4bK-nat-2;rport\nMax-Forwards: 70\n${common};tag=${toTag}\nCall-ID: nat-call-1\nCSeq: 1 ACK\nContent-Length: 0\n\n`);
  const bye = await next(/^BYE /);
  assert.match(bye, /^BYE sip:HD0001@192\.0\.2\.77:5062 SIP\/2\.0/, 'the Request-URI stays the Contact');
});
