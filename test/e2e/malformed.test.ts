/**
 * Hostile and broken input on the edge's live SIP ports (UDP and TCP): garbage, binary junk,
 * oversize and truncated messages, missing mandatory headers, undecodable dialled strings and
 * unusable SDP on a feature code. The edge answers 4xx or drops, and afterwards still serves a
 * SIPp phone's REGISTER and calls.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IDLE_BLOCK_REASON } from '../../src/edge/dial-decision.ts';
import { freeLoopbackPort } from '../support/ports.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { eventually, metricValue, startStack, type Stack } from './stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ namespace: 'e2e-malformed' });
});
after(async () => {
  await stack?.stop();
});

async function boundUdpSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

/**
 * Sends one datagram from a fresh socket (or `from`, left open) and returns the first final
 * (non-1xx) answer within `waitMs`; a provisional one only if nothing else came; undefined when
 * nothing came back.
 */
async function udpExchange(payload: Buffer | string, waitMs = 1_500, from?: Socket): Promise<string | undefined> {
  const socket = from ?? (await boundUdpSocket());
  const port = socket.address().port;
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.replaceAll('{port}', String(port)));
  let listener: ((msg: Buffer) => void) | undefined;
  try {
    return await new Promise<string | undefined>((resolve) => {
      let provisional: string | undefined;
      const timer = setTimeout(() => resolve(provisional), waitMs);
      // A kept socket may still hear retransmissions of an earlier answer: only this request's count.
      const callId = /^Call-ID: *(\S+)/im.exec(data.toString('latin1'))?.[1];
      listener = (msg) => {
        const text = msg.toString('latin1');
        if (from && callId && /^Call-ID: *(\S+)/im.exec(text)?.[1] !== callId) return;
        if (/^SIP\/2\.0 1\d\d/.test(text)) {
          provisional = text;
          return;
        }
        clearTimeout(timer);
        resolve(text);
      };
      socket.on('message', listener);
      socket.send(data, stack.edge.sipPort, '127.0.0.1');
    });
  } finally {
    if (listener) socket.off('message', listener);
    if (!from) socket.close();
  }
}

/** A desk phone's socket that has registered `user` through the edge: what it sends next is on a proven flow. */
async function registeredUdpSocket(user: string): Promise<Socket> {
  const socket = await boundUdpSocket();
  const reply = await udpExchange(request([
    'REGISTER sip:127.0.0.1 SIP/2.0', via('UDP', `reg-${user}`), `From: <sip:${user}@127.0.0.1>;tag=r1`, `To: <sip:${user}@127.0.0.1>`, `Call-ID: reg-${user}`, 'CSeq: 1 REGISTER',
    `Contact: <sip:${user}@127.0.0.1:{port}>`, 'Expires: 300', 'Max-Forwards: 70',
  ]), 5_000, socket);
  assert.equal(statusOf(reply), 200, `REGISTER as ${user}: ${reply}`);
  return socket;
}

/** Writes to a fresh TCP connection; returns what was read until the edge closed it or `waitMs` passed. */
async function tcpExchange(payload: Buffer | string, waitMs = 1_500): Promise<{ reply: string; closedByEdge: boolean }> {
  const socket = connect(stack.edge.sipPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closedByEdge = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.write(payload);
  });
  socket.destroy();
  return { reply, closedByEdge };
}

function request(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const via = (transport: 'UDP' | 'TCP', branch: string) => `Via: SIP/2.0/${transport} 127.0.0.1:{port};branch=z9hG4bK-${branch};rport`;

/** A deterministic stream of junk bytes (xorshift), so a failure can be replayed. */
function junk(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function statusOf(reply: string | undefined): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(reply ?? '');
  return m ? Number(m[1]) : undefined;
}

async function assertStillServing(label: string): Promise<void> {
  const reply = await udpExchange(request([
    `OPTIONS sip:127.0.0.1:${stack.edge.sipPort} SIP/2.0`, via('UDP', `alive-${label}`), 'From: <sip:probe@127.0.0.1>;tag=a1', 'To: <sip:127.0.0.1>', `Call-ID: alive-${label}`, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70',
  ]), 5_000);
  assert.ok(statusOf(reply), `the edge stopped answering after ${label}`);
}

describe('malformed input on the edge', { timeout: 120_000 }, () => {
  it('drops garbage and binary junk datagrams and keeps serving', async () => {
    assert.equal(await udpExchange('hello edge, this is not SIP\r\n\r\n'), undefined);
    for (let seed = 1; seed <= 20; seed++) {
      const reply = await udpExchange(junk(32 + seed * 50, seed), 100);
      assert.equal(reply, undefined, `junk #${seed} got an answer: ${reply}`);
    }
    await assertStillServing('junk');
  });

  it('answers a request without Call-ID with 400', async () => {
    const reply = await udpExchange(request([
      `INVITE sip:911@127.0.0.1:${stack.edge.sipPort} SIP/2.0`, via('UDP', 'nocallid'), 'From: <sip:HD0001@127.0.0.1>;tag=x1', 'To: <sip:911@127.0.0.1>', 'CSeq: 1 INVITE', 'Max-Forwards: 70',
    ]));
    assert.equal(statusOf(reply), 400, `reply: ${reply}`);
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_emergency_calls_total'), 0, 'a broken request is never treated as a call');
  });

  it('refuses an oversize and a badly framed message over TCP and keeps serving', async () => {
    const big = await tcpExchange(request([
      `MESSAGE sip:101@127.0.0.1:${stack.edge.sipPort} SIP/2.0`, via('TCP', 'big'), 'From: <sip:HD0001@127.0.0.1>;tag=b1', 'To: <sip:101@127.0.0.1>', 'Call-ID: big-1', 'CSeq: 1 MESSAGE', 'Max-Forwards: 70', 'Content-Type: text/plain',
    ], 'x'.repeat(100_000)).replaceAll('{port}', '5999'));
    assert.ok(big.closedByEdge || [400, 413, 513].includes(statusOf(big.reply) ?? 0), `oversize: ${big.reply.slice(0, 200)}`);

    const badLength = await tcpExchange(
      `OPTIONS sip:127.0.0.1 SIP/2.0\r\n${via('TCP', 'badlen').replace('{port}', '5999')}\r\nFrom: <sip:a@127.0.0.1>;tag=c1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: badlen-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: twelve\r\n\r\n`,
    );
    assert.ok(badLength.closedByEdge || statusOf(badLength.reply) === 400, `bad Content-Length: ${badLength.reply.slice(0, 200)}`);

    const truncated = await tcpExchange(
      `OPTIONS sip:127.0.0.1 SIP/2.0\r\n${via('TCP', 'short').replace('{port}', '5999')}\r\nFrom: <sip:a@127.0.0.1>;tag=c2\r\nTo: <sip:127.0.0.1>\r\nCall-ID: short-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 5000\r\n\r\nonly a little`,
      800,
    );
    assert.equal(statusOf(truncated.reply), undefined, 'a body still arriving is waited for, not answered');

    const binary = await tcpExchange(junk(4096, 7));
    assert.ok(binary.closedByEdge || binary.reply === '' || statusOf(binary.reply) === 400);
    await assertStillServing('tcp');
  });

  it('answers a feature code with unusable SDP with 488 and an undecodable dialled string with 403', async () => {
    const phone = await registeredUdpSocket('HD0001');
    const noAudio = await udpExchange(request([
      `INVITE sip:*77*101*@127.0.0.1:${stack.edge.sipPort} SIP/2.0`, via('UDP', 'badsdp'), 'From: <sip:HD0001@127.0.0.1>;tag=d1', 'To: <sip:*77*101*@127.0.0.1>', 'Call-ID: badsdp-1', 'CSeq: 1 INVITE',
      'Contact: <sip:HD0001@127.0.0.1:{port}>', 'Max-Forwards: 70', 'Content-Type: application/sdp',
    ], 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n'), 3_000, phone);
    assert.equal(statusOf(noAudio), 488, `reply: ${noAudio}`);
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'error' }), 1);

    const undecodable = await udpExchange(request([
      `INVITE sip:%E0%A4%A@127.0.0.1:${stack.edge.sipPort} SIP/2.0`, via('UDP', 'pct'), 'From: <sip:HD0001@127.0.0.1>;tag=e1', 'To: <sip:x@127.0.0.1>', 'Call-ID: pct-1', 'CSeq: 1 INVITE',
      'Contact: <sip:HD0001@127.0.0.1:{port}>', 'Max-Forwards: 70',
    ]), 3_000, phone);
    phone.close();
    assert.equal(statusOf(undecodable), 403, `reply: ${undecodable}`);
    assert.match(undecodable ?? '', new RegExp(IDLE_BLOCK_REASON));
  });

  it('still registers a SIPp phone and refuses its idle call afterwards', async () => {
    const phonePort = await freeLoopbackPort();
    const reg = await startSipp({ scenario: 'register.xml', port: phonePort, remote: stack.edgeAddress, keys: { user: 'HD0001', contact_port: phonePort }, timeoutSeconds: 15 });
    await expectPassed(reg, 'REGISTER after the abuse');
    await eventually('registration recorded', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration?.identity === 'HD0001');
    const call = await startSipp({ scenario: 'call-rejected.xml', port: phonePort, remote: stack.edgeAddress, service: '0044207946000', keys: { caller: 'HD0001' }, timeoutSeconds: 15 });
    const trace = await expectPassed(call, 'idle call after the abuse');
    assert.match(trace.messages, /SIP\/2\.0 403 /);
  });
});
