/**
 * Flows and the forwarding filter in the proxy core, with real UDP and TCP sockets: which flow a
 * request arrived on (address, port and, for TCP, the connection), and that the filter sees every
 * forwarded request, in a dialog or not, before it leaves.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeader, getHeaders, type SipMessage } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy, type SipProxyOptions } from '../../src/sip/proxy.ts';
import { stripPhoneClaims } from '../../src/sip/sanitise.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxyWith(options: SipProxyOptions): Promise<SipProxy> {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, timers: { t1: 50 }, ...options });
  cleanups.push(() => proxy.close());
  await proxy.listen();
  return proxy;
}

async function udpSocket(onMessage?: (m: SipMessage) => void): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  await new Promise<void>((res) => socket.bind(0, '127.0.0.1', () => res()));
  cleanups.push(() => new Promise<void>((res) => socket.close(() => res())));
  socket.on('message', (data) => {
    const r = parseMessage(data, { framing: 'datagram' });
    if (r.ok) onMessage?.(r.message);
  });
  return socket;
}

async function tcpSocket(port: number): Promise<TcpSocket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => socket.once('connect', () => res()).once('error', rej));
  cleanups.push(() => void socket.destroy());
  return socket;
}

let seq = 0;
function options(transport: 'UDP' | 'TCP', port: number, extra: string[] = [], uri = 'sip:127.0.0.1'): string {
  seq++;
  return [
    `OPTIONS ${uri} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bK-flow-${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:phone@127.0.0.1>;tag=f${seq}`,
    'To: <sip:127.0.0.1>',
    `Call-ID: flow-${seq}`,
    `CSeq: ${seq} OPTIONS`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function until<T>(get: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('flows in the proxy core', () => {
  it('names the flow by transport, address, port and TCP connection', async () => {
    const flows: string[] = [];
    const proxy = await proxyWith({});
    proxy.on('request', (req, res) => {
      flows.push(req.flow);
      res.send(200);
    });
    const udpPort = proxy.address('udp').port;
    const tcpPort = proxy.address('tcp').port;
    const a = await udpSocket();
    const b = await udpSocket();
    a.send(options('UDP', a.address().port), udpPort, '127.0.0.1');
    await until(() => flows[0], 'first UDP request');
    a.send(options('UDP', a.address().port), udpPort, '127.0.0.1');
    b.send(options('UDP', b.address().port), udpPort, '127.0.0.1');
    await until(() => flows[2], 'UDP requests');
    const c1 = await tcpSocket(tcpPort);
    const c2 = await tcpSocket(tcpPort);
    c1.write(options('TCP', c1.localPort!));
    await until(() => flows[3], 'first TCP request');
    c1.write(options('TCP', c1.localPort!));
    await until(() => flows[4], 'second TCP request');
    c2.write(options('TCP', c2.localPort!));
    await until(() => flows[5], 'TCP request on a second connection');

    assert.equal(flows[0], `udp|127.0.0.1|${a.address().port}`);
    assert.equal(flows[1], flows[0], 'the same socket is the same flow');
    assert.equal(flows[2], `udp|127.0.0.1|${b.address().port}`);
    assert.match(flows[3]!, new RegExp(`^tcp\\|127\\.0\\.0\\.1\\|${c1.localPort}\\|\\d+$`));
    assert.equal(flows[4], flows[3], 'the same connection is the same flow');
    assert.notEqual(flows[5], flows[3]);
    assert.doesNotMatch(flows[5]!, new RegExp(`\\|${c1.localPort}\\|`));
  });

  it('passes every forwarded request through the filter, in a dialog or not', async () => {
    const seenByPbx: SipMessage[] = [];
    const pbx = await udpSocket((m) => {
      if (m.kind === 'request') seenByPbx.push(m);
    });
    const calls: boolean[] = [];
    const proxy = await proxyWith({
      filterForwarded: (forwarded, _source, inDialog) => {
        calls.push(inDialog);
        stripPhoneClaims(forwarded, { poolHeaders: ['P-Emergency-Info'], inDialog });
      },
    });
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: pbx.address().port }, headers: { add: [['p-asserted-identity', '<sip:101@example.com>']] } }));
    const phone = await udpSocket();
    const udpPort = proxy.address('udp').port;
    const claims = ['P-Asserted-Identity: <sip:911@example.com>', 'P-Preferred-Identity: <sip:ceo@example.com>', 'P-Emergency-Info: elsewhere'];
    phone.send(options('UDP', phone.address().port, [...claims, 'Route: <sip:evil.example;lr>']), udpPort, '127.0.0.1');
    const first = await until(() => seenByPbx[0], 'the out-of-dialog request at the PBX');
    assert.deepEqual(getHeaders(first, 'p-asserted-identity'), ['<sip:101@example.com>'], 'only what the handler asserted');
    assert.deepEqual([...getHeaders(first, 'p-preferred-identity'), ...getHeaders(first, 'p-emergency-info'), ...getHeaders(first, 'route')], []);

    // In a dialog the core loose-routes by itself; the route set after our own entry stays.
    const pbxRoute = `<sip:127.0.0.1:${pbx.address().port};lr>`;
    const inDialog = options('UDP', phone.address().port, [...claims, `Route: <sip:127.0.0.1:${udpPort};lr>`, `Route: ${pbxRoute}`], 'sip:101@192.0.2.9')
      .replace('To: <sip:127.0.0.1>', 'To: <sip:127.0.0.1>;tag=dialog1');
    phone.send(inDialog, udpPort, '127.0.0.1');
    // Picked by its To tag: the PBX here never answers, so the first request's retransmissions (T1 = 50 ms) arrive too.
    const second = await until(() => seenByPbx.find((m) => getHeader(m, 'to')?.includes('tag=dialog1')), 'the in-dialog request forwarded');
    assert.deepEqual([...getHeaders(second, 'p-asserted-identity'), ...getHeaders(second, 'p-preferred-identity'), ...getHeaders(second, 'p-emergency-info')], []);
    assert.deepEqual(getHeaders(second, 'route'), [pbxRoute]);
    assert.deepEqual(calls, [false, true]);
  });

  it('delivers a request on the very TCP connection a flow names, and answers 430 Flow Failed once it has closed', async () => {
    let phoneFlow: { address: string; port: number; connection: number | undefined } | undefined;
    const proxy = await proxyWith({});
    proxy.on('request', async (req, res) => {
      if (req.source.transport === 'tcp') {
        // The phone's own request proves its flow (a REGISTER in the edge).
        phoneFlow = { address: req.source.address, port: req.source.port, connection: req.connection };
        res.send(200);
        return;
      }
      await req.proxy({ destination: { host: phoneFlow!.address, port: phoneFlow!.port, transport: 'tcp' }, flowConnection: phoneFlow!.connection! });
    });
    const tcpPort = proxy.address('tcp').port;
    const udpPort = proxy.address('udp').port;
    const phone = await tcpSocket(tcpPort);
    const heardByPhone: SipMessage[] = [];
    phone.on('data', (data) => {
      const r = parseMessage(data, { framing: 'stream' });
      if (!r.ok || r.message.kind !== 'request') return;
      heardByPhone.push(r.message);
      const m = r.message;
      const answer = ['SIP/2.0 200 OK', ...getHeaders(m, 'via').map((v) => `Via: ${v}`), `From: ${getHeaders(m, 'from')[0]}`, `To: ${getHeaders(m, 'to')[0]};tag=phone`, `Call-ID: ${getHeaders(m, 'call-id')[0]}`, `CSeq: ${getHeaders(m, 'cseq')[0]}`, 'Content-Length: 0', '', ''].join('\r\n');
      phone.write(answer);
    });
    phone.write(options('TCP', phone.localPort!));
    await until(() => phoneFlow, 'the phone\'s flow');

    const answers: SipMessage[] = [];
    const pbx = await udpSocket((m) => answers.push(m));
    pbx.send(options('UDP', pbx.address().port, [], 'sip:phone@192.0.2.10:5062'), udpPort, '127.0.0.1');
    const delivered = await until(() => answers.find((m) => m.kind === 'response'), 'the answer through the flow');
    assert.equal(delivered.kind === 'response' && delivered.status, 200);
    assert.equal(heardByPhone.length, 1, 'the phone heard it on its own connection, though its Request-URI named another address');

    phone.destroy();
    await sleep(50);
    answers.length = 0;
    pbx.send(options('UDP', pbx.address().port, [], 'sip:phone@192.0.2.10:5062'), udpPort, '127.0.0.1');
    const failed = await until(() => answers.find((m) => m.kind === 'response'), 'the answer for a closed flow');
    assert.equal(failed.kind === 'response' && `${failed.status} ${failed.reason}`, '430 Flow Failed');
    assert.equal(heardByPhone.length, 1);
  });
});
