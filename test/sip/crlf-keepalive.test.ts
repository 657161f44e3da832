/**
 * RFC 5626 §3.5.1 / §4.4.1: on a stream, a double-CRLF ping gets a single-CRLF pong. The framer's
 * decision table-style, then over a real TCP connection to the proxy.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SipProxy } from '../../src/sip/proxy.ts';
import { StreamFramer } from '../../src/sip/stream-framer.ts';
import { eventually } from '../support/eventually.ts';

const msg = (tag: string) => `OPTIONS sip:x SIP/2.0\r\nCall-ID: ${tag}\r\nContent-Length: 0\r\n\r\n`;

describe('CRLF keep-alive framing', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['one ping', ['\r\n\r\n'], ['keepalive']],
    ['a ping split over two reads', ['\r\n', '\r\n'], ['keepalive']],
    ['a ping split byte by byte', ['\r', '\n', '\r', '\n'], ['keepalive']],
    ['two pings in one read', ['\r\n\r\n\r\n\r\n'], ['keepalive', 'keepalive']],
    ['a lone CRLF is no ping', ['\r\n'], []],
    ['a message, then a ping', [msg('a') + '\r\n\r\n'], ['message', 'keepalive']],
    ['a ping, then a message', ['\r\n\r\n' + msg('b')], ['keepalive', 'message']],
    ['a stray CRLF after a message is no ping', [msg('c') + '\r\n', msg('d')], ['message', 'message']],
    ['line breaks count afresh after each message', [msg('e') + '\r\n\r\n\r\n', msg('f') + '\r\n'], ['message', 'keepalive', 'message']],
  ];
  for (const [name, chunks, expected] of cases) {
    it(name, () => {
      const framer = new StreamFramer(65536);
      assert.deepEqual(chunks.flatMap((c) => framer.push(Buffer.from(c)).map((e) => e.kind)), expected);
    });
  }
});

describe('CRLF keep-alive over TCP', { timeout: 30_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('answers each double-CRLF ping with a single CRLF, keeps the connection, and still serves SIP on it', async () => {
    const proxy = new SipProxy({ host: '127.0.0.1', udpPort: false, tcpPort: 0 });
    cleanups.push(() => proxy.close());
    proxy.on('request', (_req, res) => void res.send(200));
    await proxy.listen();
    const socket: Socket = connect(proxy.address('tcp').port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((res, rej) => socket.once('connect', res).once('error', rej));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));

    socket.write('\r\n\r\n');
    await eventually('the pong', () => received === '\r\n', 5_000, 10);
    socket.write('\r\n');
    await sleep(100);
    socket.write('\r\n');
    await eventually('the second pong', () => received === '\r\n\r\n', 5_000, 10);
    await sleep(100);
    assert.equal(received, '\r\n\r\n', 'one pong per ping, nothing more');

    const port = socket.localPort!;
    socket.write([
      'OPTIONS sip:101@pbx.example SIP/2.0', `Via: SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bKka1;rport`, 'Max-Forwards: 70',
      'From: <sip:phone@pbx.example>;tag=k1', 'To: <sip:101@pbx.example>', 'Call-ID: ka1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
    ].join('\r\n'));
    await eventually('the answer on the same connection', () => /SIP\/2\.0 200 OK/.test(received), 5_000, 10);
  });
});
