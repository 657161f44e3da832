/**
 * Hostile clients against the SIP core over real sockets: oversized UDP datagrams and TCP
 * messages, a client trickling bytes, too many connections, and a flood of transactions. Each
 * is cut off or refused, the edge keeps answering others, and every refusal is counted in the
 * metrics the edge exposes.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { EdgeMetrics } from '../../src/edge/edge-metrics.ts';
import { getHeader, type SipMessage } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy, type SipProxyOptions } from '../../src/sip/proxy.ts';
import { eventually } from '../support/eventually.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A proxy answering every OPTIONS 200 itself, with the edge's metrics on a registry of its own. */
async function answeringProxy(options: SipProxyOptions): Promise<{ proxy: SipProxy; registry: Registry; metric: (line: RegExp) => Promise<number> }> {
  const registry = new Registry();
  const metrics = new EdgeMetrics(registry);
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, timers: { t1: 10 }, metrics: metrics.sipHook(), ...options });
  proxy.on('request', (_req, res) => {
    res.send(200);
  });
  cleanups.push(() => proxy.close());
  await proxy.listen();
  const metric = async (line: RegExp) => Number(line.exec(await registry.metrics())?.[1] ?? NaN);
  return { proxy, registry, metric };
}

let branches = 0;
function options(transport: 'UDP' | 'TCP', port: number, body = ''): Buffer {
  return Buffer.from([
    'OPTIONS sip:edge@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bK-limits-${++branches};rport`,
    'Max-Forwards: 70',
    'From: <sip:hostile@127.0.0.1>;tag=h1',
    'To: <sip:edge@127.0.0.1>',
    `Call-ID: limits-${branches}`,
    'CSeq: 1 OPTIONS',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n'));
}

async function udpClient(host = '127.0.0.1') {
  const socket = createSocket('udp4');
  await new Promise<void>((res) => socket.bind(0, host, () => res()));
  cleanups.push(() => new Promise<void>((res) => socket.close(() => res())));
  const received: SipMessage[] = [];
  socket.on('message', (data) => {
    const r = parseMessage(data);
    if (r.ok) received.push(r.message);
  });
  return { port: socket.address().port, received, send: (data: Buffer, port: number) => new Promise<void>((res, rej) => socket.send(data, port, '127.0.0.1', (e) => (e ? rej(e) : res()))) };
}

interface TcpClient {
  socket: Socket;
  port: number;
  text(): string;
  closed: Promise<void>;
}

async function tcpClient(port: number, localAddress = '127.0.0.1'): Promise<TcpClient> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  cleanups.push(() => void socket.destroy());
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((res) => socket.once('close', () => res()));
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('error', rej);
  });
  return { socket, port: socket.localPort!, text: () => text, closed };
}

const statusOf = (m: SipMessage | undefined) => (m?.kind === 'response' ? m.status : undefined);

describe('bounded resources', () => {
  it('drops and counts an oversized UDP datagram and keeps answering', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { maxMessageBytes: 2048 } });
    const phone = await udpClient();
    const edge = proxy.address('udp').port;
    await phone.send(options('UDP', phone.port, 'x'.repeat(4000)), edge);
    await phone.send(options('UDP', phone.port), edge);
    await eventually('the small OPTIONS answered', () => phone.received.length > 0);
    await sleep(100);
    assert.deepEqual(phone.received.map(statusOf), [200], 'the oversized one got nothing');
    assert.equal(await metric(/^sip_parse_errors_total\{reason="message-too-large"\} (\d+)$/m), 1);
  });

  it('answers 513 to a TCP message announcing a body beyond the limit, then closes; a headless flood is just closed', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { maxMessageBytes: 2048 } });
    const edge = proxy.address('tcp').port;
    const client = await tcpClient(edge);
    client.socket.write(options('TCP', client.port, 'x'.repeat(60_000)));
    await client.closed;
    const answer = parseMessage(Buffer.from(client.text(), 'latin1'), { framing: 'datagram' });
    assert.ok(answer.ok, client.text());
    assert.equal(statusOf(answer.message), 513);
    assert.equal(getHeader(answer.message, 'call-id'), `limits-${branches}`);

    const flood = await tcpClient(edge);
    flood.socket.write(Buffer.alloc(4096, 0x41));
    await flood.closed;
    assert.equal(flood.text(), '');
    assert.equal(await metric(/^sip_framing_errors_total\{transport="tcp",problem="too_large"\} (\d+)$/m), 2);
  });

  it('closes a TCP connection that trickles a message byte by byte past the deadline, and counts it', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { streamMessageDeadlineMs: 400 } });
    const edge = proxy.address('tcp').port;
    // A well-behaved connection sending whole messages, slowly, is never cut off.
    const patient = await tcpClient(edge);
    for (let i = 0; i < 3; i++) {
      patient.socket.write(options('TCP', patient.port));
      await sleep(250);
    }
    assert.equal(patient.socket.destroyed, false);
    assert.equal(patient.text().match(/SIP\/2\.0 200/g)?.length, 3);

    const slow = await tcpClient(edge);
    const wire = options('TCP', slow.port);
    const started = Date.now();
    let sent = 0;
    const trickle = setInterval(() => {
      if (!slow.socket.destroyed && sent < wire.length) slow.socket.write(wire.subarray(sent, ++sent));
    }, 50);
    cleanups.push(() => clearInterval(trickle));
    await slow.closed;
    clearInterval(trickle);
    const lasted = Date.now() - started;
    assert.ok(lasted >= 350 && lasted < 3_000, `closed after ${lasted} ms`);
    assert.ok(sent < wire.length, 'cut off before the message was complete');
    assert.equal(await metric(/^sip_framing_errors_total\{transport="tcp",problem="deadline"\} (\d+)$/m), 1);
  });

  it('caps TCP connections per source and in total, counts refusals and open connections', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { maxConnections: 3, maxConnectionsPerSource: 2 } });
    const edge = proxy.address('tcp').port;
    const a1 = await tcpClient(edge, '127.0.0.1');
    await tcpClient(edge, '127.0.0.1');
    const a3 = await tcpClient(edge, '127.0.0.1');
    await a3.closed;
    assert.equal(await metric(/^sip_connections_refused_total\{transport="tcp",reason="per_source"\} (\d+)$/m), 1);
    await tcpClient(edge, '127.0.0.2');
    const c = await tcpClient(edge, '127.0.0.3');
    await c.closed;
    assert.equal(await metric(/^sip_connections_refused_total\{transport="tcp",reason="total"\} (\d+)$/m), 1);
    assert.equal(await metric(/^sip_connections\{transport="tcp"\} (\d+)$/m), 3);

    // A connection that closes frees its slot; the admitted ones are served.
    a1.socket.destroy();
    await eventually('a free slot', async () => (await metric(/^sip_connections\{transport="tcp"\} (\d+)$/m)) === 2);
    const again = await tcpClient(edge, '127.0.0.1');
    again.socket.write(options('TCP', again.port));
    await eventually('an answer on the new connection', () => /SIP\/2\.0 200/.test(again.text()));
  });

  it('answers 503 with Retry-After once the transaction budget is spent, counts it, and admits again when transactions end', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { maxTransactions: 3, maxTransactionBytes: 1_000_000, overloadRetryAfterSeconds: 7 } });
    const phone = await udpClient();
    const edge = proxy.address('udp').port;
    for (let i = 0; i < 4; i++) await phone.send(options('UDP', phone.port), edge);
    await eventually('four answers', () => phone.received.length === 4);
    assert.deepEqual(phone.received.map(statusOf).sort(), [200, 200, 200, 503]);
    const refused = phone.received.find((m) => statusOf(m) === 503)!;
    assert.equal(getHeader(refused, 'retry-after'), '7');
    assert.equal(await metric(/^sip_overload_rejections_total (\d+)$/m), 1);
    assert.equal(await metric(/^sip_transactions\{kind="server"\} (\d+)$/m), 3);
    assert.ok((await metric(/^sip_transaction_bytes (\d+)$/m)) > 0);
    // Timer J (64 × T1 = 640 ms here) ends them; then there is room again.
    await eventually('transactions ended', async () => (await metric(/^sip_transactions\{kind="server"\} (\d+)$/m)) === 0, 5_000, 50);
    assert.equal(await metric(/^sip_transaction_bytes (\d+)$/m), 0);
    await phone.send(options('UDP', phone.port), edge);
    await eventually('a fifth answer', () => phone.received.length === 5);
    assert.equal(statusOf(phone.received[4]), 200);
  });

  it('refuses by bytes held: large requests at an allowed rate cannot grow the heap past the budget', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { maxTransactionBytes: 10_000 } });
    const phone = await udpClient();
    const edge = proxy.address('udp').port;
    for (let i = 0; i < 6; i++) await phone.send(options('UDP', phone.port, 'x'.repeat(3_000)), edge);
    await eventually('six answers', () => phone.received.length === 6);
    assert.deepEqual(phone.received.map(statusOf).sort(), [200, 200, 200, 503, 503, 503]);
    assert.ok((await metric(/^sip_transaction_bytes (\d+)$/m)) <= 10_000);
  });

  it('keeps one source to its share of the bytes, so others are still served', async () => {
    const { proxy } = await answeringProxy({ limits: { maxTransactionBytes: 100_000, maxTransactionBytesPerSource: 8_000 } });
    const hostile = await udpClient();
    const edge = proxy.address('udp').port;
    for (let i = 0; i < 4; i++) await hostile.send(options('UDP', hostile.port, 'x'.repeat(3_000)), edge);
    await eventually('four answers', () => hostile.received.length === 4);
    assert.deepEqual(hostile.received.map(statusOf).sort(), [200, 200, 503, 503]);
    const other = await udpClient('127.0.0.2');
    await other.send(options('UDP', other.port, 'x'.repeat(3_000)), edge);
    await eventually('the other source answered', () => other.received.length === 1);
    assert.equal(statusOf(other.received[0]), 200);
  });

  it('counts requests dropped by the per-source rate limit', async () => {
    const { proxy, metric } = await answeringProxy({ limits: { rateLimit: { messagesPerSecond: 1, burst: 2 } } });
    const phone = await udpClient();
    for (let i = 0; i < 5; i++) await phone.send(options('UDP', phone.port), proxy.address('udp').port);
    await eventually('three dropped', async () => (await metric(/^sip_rate_limited_total (\d+)$/m)) === 3);
    await eventually('two answered', () => phone.received.length === 2);
    await sleep(100);
    assert.equal(phone.received.length, 2);
  });
});
