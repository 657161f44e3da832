/**
 * A login call's own RTP socket (no port range: the demo, loopback tests) latches as the pool's
 * ports do (rtp-latch.ts): only RTP from the INVITE's address fixes the peer, and after that only
 * that address and port is the call's. A stranger who guesses the port neither gets the prompts
 * nor keys a PIN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRtpPacket } from '../../src/media/rtp-packet.ts';
import { RtpSession } from '../../src/media/rtp-session.ts';
import { eventually } from '../support/eventually.ts';

async function udp(host: string): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  return socket;
}

const rtp = (seq: number) => encodeRtpPacket({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 7, payload: Buffer.alloc(160, 0xff) });

test('an RTP session takes its peer only from the signalling address, then only that source', async () => {
  const session = await RtpSession.open({ host: '127.0.0.1', signallingAddress: '127.0.0.1' });
  const stranger = await udp('127.0.0.5');
  const phone = await udp('127.0.0.1');
  const sameHostOtherPort = await udp('127.0.0.1');
  const heardByStranger: number[] = [];
  stranger.on('message', (m) => heardByStranger.push(m.length));
  try {
    const got: Array<{ seq: number; from: string }> = [];
    session.on('packet', (p, from) => got.push({ seq: p.sequenceNumber, from: `${from.address}:${from.port}` }));
    const port = session.local.port;
    stranger.send(rtp(1), port, '127.0.0.1');
    await sleep(100);
    assert.equal(session.remote, undefined, 'a stranger does not latch');
    session.sendPacket(0, Buffer.alloc(160, 0xff));
    phone.send(rtp(2), port, '127.0.0.1');
    await eventually('the phone latched', () => session.remote !== undefined);
    assert.deepEqual(session.remote, { address: '127.0.0.1', port: phone.address().port });
    sameHostOtherPort.send(rtp(3), port, '127.0.0.1');
    stranger.send(rtp(4), port, '127.0.0.1');
    phone.send(rtp(5), port, '127.0.0.1');
    await eventually('the phone heard again', () => got.some((g) => g.seq === 5));
    assert.deepEqual(got.map((g) => g.seq), [2, 5], 'only the latched source\'s packets are the call\'s');
    assert.deepEqual(heardByStranger, [], 'nothing was sent to the stranger');
  } finally {
    await session.close();
    for (const s of [stranger, phone, sameHostOtherPort]) s.close();
  }
});
