/**
 * The IVR over SDES-SRTP, with a phone made of a UDP socket and its own SRTP contexts: the IVR's
 * prompts arrive encrypted under the key of its answer, the phone's keys (RFC 4733 in SRTP) reach
 * the PIN collector, and plain or forged RTP neither latches the IVR's address nor counts as a key.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { IvrSession } from '../../src/media/ivr-session.ts';
import { loadPrompts, type PromptSet } from '../../src/media/prompts.ts';
import { decodeRtpPacket, encodeRtpPacket } from '../../src/media/rtp-packet.ts';
import { encodeTelephoneEvent, eventOfDtmfKey, type DtmfKey } from '../../src/media/dtmf.ts';
import { parseSdp } from '../../src/media/sdp.ts';
import { parseSdesCrypto } from '../../src/media/sdes-crypto-attribute.ts';
import { SrtpContext } from '../../src/media/srtp-context.ts';
import { SRTP_SUITES, SrtpMasterKey, type SrtpSuite } from '../../src/media/srtp-suites.ts';
import { RtpPortPool } from '../../src/media/rtp-port-pool.ts';
import { freeEvenLoopbackPort } from '../support/ports.ts';

let prompts: PromptSet;
before(async () => {
  prompts = await loadPrompts();
});

const PHONE_KEY = new SrtpMasterKey(Buffer.from('00112233445566778899aabbccddeeff', 'hex'), Buffer.from('0102030405060708090a0b0c0d0e', 'hex'));

function srtpOffer(port: number, suite: string): string {
  return [
    'v=0', 'o=phone 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/SAVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    `a=crypto:4 ${suite} inline:${PHONE_KEY.concatenated.toString('base64')}`,
    '',
  ].join('\r\n');
}

class SecurePhone {
  readonly socket: Socket;
  decrypted = 0;
  undecryptable = 0;
  #seq = 65530; // wraps during the test: the IVR must follow the rollover
  #timestamp = 8000;
  readonly #outbound: SrtpContext;
  #inbound: SrtpContext | undefined;

  private constructor(socket: Socket, suite: SrtpSuite) {
    this.socket = socket;
    this.#outbound = new SrtpContext({ suite, master: PHONE_KEY });
    socket.on('message', (datagram) => {
      const plain = this.#inbound?.unprotect(datagram);
      if (plain?.ok && decodeRtpPacket(plain.packet).ok) this.decrypted++;
      else this.undecryptable++;
    });
  }

  static async open(suite: SrtpSuite): Promise<SecurePhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new SecurePhone(socket, suite);
  }

  /** Reads the IVR's key from its answer. */
  answered(answerSdp: string, suite: SrtpSuite): void {
    const parsed = parseSdp(answerSdp);
    assert.ok(parsed.ok);
    const crypto = parsed.ok ? parsed.sdp.media[0]?.crypto[0] : undefined;
    const ours = parseSdesCrypto(crypto ?? '');
    assert.ok(ours.ok, 'the answer carries a=crypto');
    if (ours.ok) this.#inbound = new SrtpContext({ suite, master: ours.crypto.master });
  }

  rtp(payloadType: number, payload: Buffer, marker = false, timestamp = this.#timestamp): Buffer {
    const packet = encodeRtpPacket({ marker, payloadType, sequenceNumber: this.#seq, timestamp, ssrc: 0xfeed, payload });
    this.#seq = (this.#seq + 1) & 0xffff;
    return packet;
  }

  send(to: number, datagram: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(datagram, to, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  hello(to: number): Promise<void> {
    return this.send(to, this.#outbound.protect(this.rtp(0, Buffer.alloc(160, 0xff), true)));
  }

  async press(to: number, key: DtmfKey): Promise<void> {
    const event = eventOfDtmfKey(key);
    const timestamp = (this.#timestamp += 1600);
    const payloads = [0, 160, 320].map((duration) => encodeTelephoneEvent({ event, end: false, volume: 10, duration }));
    for (let i = 0; i < 3; i++) payloads.push(encodeTelephoneEvent({ event, end: true, volume: 10, duration: 480 }));
    for (const [i, payload] of payloads.entries()) {
      await this.send(to, this.#outbound.protect(this.rtp(101, payload, i === 0, timestamp)));
      await sleep(2);
    }
  }

  close(): void {
    this.socket.close();
  }
}

for (const suiteName of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']) {
  test(`${suiteName}: prompts go out as SRTP under the answer's key, and SRTP DTMF is collected`, async () => {
    const suite = SRTP_SUITES.get(suiteName)!;
    const phone = await SecurePhone.open(suite);
    const opened = await IvrSession.answer(srtpOffer(phone.socket.address().port, suiteName), { localHost: '127.0.0.1', advertisedAddress: '127.0.0.1', sessionId: 1, sessionVersion: 1, prompts, sdes: true });
    assert.ok(opened.ok, opened.ok ? '' : opened.reason);
    if (!opened.ok) return;
    const ivr = opened.session;
    try {
      assert.match(opened.answerSdp, /m=audio \d+ RTP\/SAVP 0 101/);
      phone.answered(opened.answerSdp, suite);
      const port = ivr.local.port;

      // Plain RTP and SRTP under another key: dropped, and no address latched from them.
      await phone.send(port, phone.rtp(0, Buffer.alloc(160, 0xff)));
      await phone.send(port, new SrtpContext({ suite, master: new SrtpMasterKey(Buffer.alloc(16, 9), Buffer.alloc(14, 9)) }).protect(phone.rtp(0, Buffer.alloc(160, 0xff))));
      assert.equal(await ivr.waitForCaller(200), false, 'no latch on packets that do not authenticate');
      assert.deepEqual(ivr.srtpDropped, { authentication: 2 });

      await phone.hello(port);
      assert.equal(await ivr.waitForCaller(2_000), true);
      const collecting = ivr.collect({ maxDigits: 8, interDigitTimeoutMs: 3_000, firstDigitTimeoutMs: 5_000 });
      for (const key of ['4', '8', '2', '1', '#'] as DtmfKey[]) await phone.press(port, key);
      assert.deepEqual(await collecting, { digits: '4821', terminatedBy: 'terminator' });

      const playing = ivr.play('enter-pin');
      await sleep(300);
      await ivr.close();
      await playing.catch(() => undefined);
      assert.ok(phone.decrypted > 3, `the phone decrypted ${phone.decrypted} packets`);
      assert.equal(phone.undecryptable, 0, 'every packet the IVR sent authenticated under its answer\'s key');
    } finally {
      await ivr.close();
      phone.close();
    }
  });
}

test('without sdes (not over TLS) the IVR refuses the SRTP offer and binds nothing', async () => {
  const opened = await IvrSession.answer(srtpOffer(40000, 'AES_CM_128_HMAC_SHA1_80'), { localHost: '127.0.0.1', advertisedAddress: '127.0.0.1', sessionId: 1, sessionVersion: 1, prompts });
  assert.equal(opened.ok, false);
  if (!opened.ok) assert.equal(opened.srtp, 'needs-tls');
});

test('on a shared port (several replicas), SRTP that does not authenticate neither latches the call nor is kept from the relay', async () => {
  const suite = SRTP_SUITES.get('AES_CM_128_HMAC_SHA1_80')!;
  const phone = await SecurePhone.open(suite);
  const strays: number[] = [];
  const pool = await RtpPortPool.bind('127.0.0.1', [await freeEvenLoopbackPort()], {
    stray: (port) => strays.push(port),
    sendThrough: (_peer, _port, _to, _datagram, done) => done(null),
    borrowed: () => undefined,
    returned: () => undefined,
  });
  const opened = await IvrSession.answer(srtpOffer(phone.socket.address().port, 'AES_CM_128_HMAC_SHA1_80'), {
    localHost: '127.0.0.1', advertisedAddress: '127.0.0.1', sessionId: 1, sessionVersion: 1, prompts, sdes: true, ports: pool, signallingAddress: '127.0.0.1',
  });
  assert.ok(opened.ok, opened.ok ? '' : opened.reason);
  if (!opened.ok) return;
  const ivr = opened.session;
  try {
    phone.answered(opened.answerSdp, suite);
    const port = ivr.local.port;
    // From the signalling address, but under a key that is not the phone's: perhaps another
    // phone behind the same NAT, whose call another replica holds on this port.
    await phone.send(port, new SrtpContext({ suite, master: new SrtpMasterKey(Buffer.alloc(16, 9), Buffer.alloc(14, 9)) }).protect(phone.rtp(0, Buffer.alloc(160, 0xff))));
    assert.equal(await ivr.waitForCaller(300), false, 'no latch on a packet that does not authenticate');
    assert.deepEqual(strays, [port], 'the packet went to the relay, for a peer\'s call');
    await phone.hello(port);
    assert.equal(await ivr.waitForCaller(2_000), true, 'the phone\'s own SRTP latches');
    await phone.send(port, phone.rtp(0, Buffer.alloc(160, 0xff)));
    await sleep(100);
    assert.deepEqual(strays, [port], 'once latched, the phone\'s packets are the call\'s');
  } finally {
    await ivr.close();
    phone.close();
    await pool.close();
  }
});
