import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { IvrSession, IvrSessionClosedError } from '../../src/media/ivr-session.ts';
import { loadPrompts, type PromptSet } from '../../src/media/prompts.ts';
import { decodeRtpPacket, encodeRtpPacket, type RtpPacket } from '../../src/media/rtp-packet.ts';
import { encodeTelephoneEvent, eventOfDtmfKey, type DtmfKey } from '../../src/media/dtmf.ts';
import { parseDtmfInfo } from '../../src/media/dtmf-info.ts';
import { readPcap } from '../fixtures/media/pcap.ts';

const PCAP_DIR = '/usr/share/sip-tester';
const PCAP_NAME: Record<string, string> = { '*': 'star', '#': 'pound' };

let prompts: PromptSet;
before(async () => {
  prompts = await loadPrompts();
});

/** The far end of the call: a UDP socket on loopback that records what the IVR sends. */
class Phone {
  readonly socket: Socket;
  readonly received: { packet: RtpPacket; at: number }[] = [];
  #seq = 1000;
  #timestamp = 50000;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (datagram) => {
      const decoded = decodeRtpPacket(datagram);
      if (decoded.ok) this.received.push({ packet: decoded.packet, at: performance.now() });
    });
  }

  static async open(): Promise<Phone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Phone(socket);
  }

  get endpoint(): { address: string; port: number } {
    return { address: '127.0.0.1', port: this.socket.address().port };
  }

  async waitFor(count: number, timeoutMs = 20000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.received.length < count) {
      if (performance.now() > deadline) throw new Error(`received ${this.received.length} of ${count} packets`);
      await sleep(10);
    }
  }

  /** A phone's first RTP packet (µ-law silence), which tells the IVR where to send. */
  hello(to: { port: number }): Promise<void> {
    return this.send(to, encodeRtpPacket({ marker: true, payloadType: 0, sequenceNumber: this.#seq++, timestamp: this.#timestamp, ssrc: 0xc0ffee, payload: Buffer.alloc(160, 0xff) }));
  }

  send(to: { port: number }, datagram: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(datagram, to.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  /** Presses a key the way phones do: start, two updates, and the end packet three times. */
  async press(to: { port: number }, key: DtmfKey, dtmfPt = 101): Promise<void> {
    const event = eventOfDtmfKey(key);
    const timestamp = this.#timestamp;
    this.#timestamp += 1600;
    const payloads = [0, 160, 320].map((duration) => encodeTelephoneEvent({ event, end: false, volume: 10, duration }));
    for (let i = 0; i < 3; i++) payloads.push(encodeTelephoneEvent({ event, end: true, volume: 10, duration: 480 }));
    for (const [i, payload] of payloads.entries()) {
      await this.send(to, encodeRtpPacket({ marker: i === 0, payloadType: dtmfPt, sequenceNumber: this.#seq++, timestamp, ssrc: 0xc0ffee, payload }));
      await sleep(2);
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** An IVR session that has heard the phone's first RTP packet, so it sends to that phone. */
async function setup(t: { after: (fn: () => unknown) => void }, codecPt = 0, packetBudget?: number): Promise<{ phone: Phone; ivr: IvrSession }> {
  const phone = await Phone.open();
  const ivr = await IvrSession.open({ localHost: '127.0.0.1', codecPt, dtmfPt: 101, prompts, ...(packetBudget ? { packetBudget } : {}) });
  t.after(async () => {
    await ivr.close();
    phone.close();
  });
  await phone.hello(ivr.local);
  assert.equal(await ivr.waitForCaller(2000), true, 'latched on the first packet');
  assert.deepEqual(ivr.remote, phone.endpoint);
  return { phone, ivr };
}

test('plays a prompt as 20 ms RTP packets: payload type, 160 bytes, seq+1, timestamp+160, marker first', async (t) => {
  const { phone, ivr } = await setup(t);
  const audio = prompts.audio('enter-pin', 'mulaw');
  const expected = Math.ceil(audio.length / 160);
  const started = performance.now();
  await ivr.play('enter-pin');
  const elapsed = performance.now() - started;
  await phone.waitFor(expected);
  assert.equal(phone.received.length, expected);

  const packets = phone.received.map((r) => r.packet);
  for (const [i, p] of packets.entries()) {
    assert.equal(p.payloadType, 0);
    assert.equal(p.payload.length, 160);
    assert.equal(p.marker, i === 0, `marker on packet ${i}`);
    assert.equal(p.ssrc, packets[0]?.ssrc);
    if (i > 0) {
      const previous = packets[i - 1] as RtpPacket;
      assert.equal(p.sequenceNumber, (previous.sequenceNumber + 1) & 0xffff, `seq at ${i}`);
      assert.equal(p.timestamp, (previous.timestamp + 160) >>> 0, `timestamp at ${i}`);
    }
  }
  // The caller hears exactly the prompt, the last packet padded with µ-law silence.
  const heard = Buffer.concat(packets.map((p) => p.payload));
  assert.deepEqual(heard.subarray(0, audio.length), audio);
  assert.ok(heard.subarray(audio.length).every((b) => b === 0xff));

  // Paced in real time: about 20 ms per packet over the whole prompt (loose bounds for a busy machine).
  const arrivals = phone.received.map((r) => r.at);
  const average = ((arrivals.at(-1) as number) - (arrivals[0] as number)) / (expected - 1);
  assert.ok(average >= 18 && average <= 26, `average spacing ${average.toFixed(2)} ms`);
  assert.ok(elapsed >= (expected - 1) * 20 * 0.95, `play took ${elapsed.toFixed(0)} ms for ${expected} packets`);
});

test('consecutive prompts continue one stream: contiguous seq, timestamps on one clock, marker per prompt, PCMA', async (t) => {
  const { phone, ivr } = await setup(t, 8);
  await ivr.play('login-ok');
  const first = Math.ceil(prompts.audio('login-ok', 'alaw').length / 160);
  await ivr.play('logout-ok');
  const total = first + Math.ceil(prompts.audio('logout-ok', 'alaw').length / 160);
  await phone.waitFor(total);
  const packets = phone.received.map((r) => r.packet);
  assert.ok(packets.every((p) => p.payloadType === 8 && p.payload.length === 160));
  assert.deepEqual(
    packets.flatMap((p, i) => (p.marker ? [i] : [])),
    [0, first],
  );
  for (let i = 1; i < packets.length; i++) {
    assert.equal((packets[i] as RtpPacket).sequenceNumber, ((packets[i - 1] as RtpPacket).sequenceNumber + 1) & 0xffff);
  }
  const lastOfFirst = packets[first - 1] as RtpPacket;
  const firstOfSecond = packets[first] as RtpPacket;
  const step = (firstOfSecond.timestamp - lastOfFirst.timestamp) >>> 0;
  const gapMs = (phone.received[first]?.at ?? 0) - (phone.received[first - 1]?.at ?? 0);
  assert.equal(step % 160, 0, 'timestamps stay on the 20 ms grid');
  assert.ok(step >= 160 && step / 8 <= gapMs + 40, `timestamp step ${step} for a ${gapMs.toFixed(1)} ms gap`);
});

test('collects a PIN sent as RFC 4733 telephone-events', async (t) => {
  const { phone, ivr } = await setup(t);
  const collecting = ivr.collect({ maxDigits: 8, interDigitTimeoutMs: 5000, overallTimeoutMs: 20000 });
  for (const key of ['4', '7', '7', '1', '#'] as const) await phone.press(ivr.local, key);
  assert.deepEqual(await collecting, { digits: '4771', terminatedBy: 'terminator' });
});

async function replayPcap(phone: Phone, to: { port: number }, key: string, shift = { seq: 0, timestamp: 0 }): Promise<void> {
  const captured = await readPcap(`${PCAP_DIR}/dtmf_2833_${PCAP_NAME[key] ?? key}.pcap`);
  assert.equal(captured.length, 10, `dtmf_2833_${key}.pcap holds one press`);
  for (const { payload } of captured) {
    const datagram = Buffer.from(payload);
    if (shift.seq || shift.timestamp) {
      datagram.writeUInt16BE((datagram.readUInt16BE(2) + shift.seq) & 0xffff, 2);
      datagram.writeUInt32BE((datagram.readUInt32BE(4) + shift.timestamp) >>> 0, 4);
    }
    await phone.send(to, datagram);
    await sleep(1);
  }
}

test("replays sip-tester's captured RFC 2833 DTMF (every key) and collects exactly those digits", async (t) => {
  const { phone, ivr } = await setup(t);
  const collecting = ivr.collect({ maxDigits: 20, interDigitTimeoutMs: 5000, overallTimeoutMs: 30000 });
  for (const key of [...'0123456789*', '#']) await replayPcap(phone, ivr.local, key);
  assert.deepEqual(await collecting, { digits: '0123456789*', terminatedBy: 'terminator' });
});

test('a captured key pressed twice counts twice when the stream moves on (restamped replay)', async (t) => {
  const { phone, ivr } = await setup(t);
  const collecting = ivr.collect({ maxDigits: 6, interDigitTimeoutMs: 5000 });
  await replayPcap(phone, ivr.local, '2');
  await replayPcap(phone, ivr.local, '5');
  // The same capture again, later in the same stream: later sequence numbers and timestamp.
  await replayPcap(phone, ivr.local, '5', { seq: 500, timestamp: 80000 });
  await replayPcap(phone, ivr.local, '#', { seq: 500, timestamp: 80000 });
  assert.deepEqual(await collecting, { digits: '255', terminatedBy: 'terminator' });
});

test('a key during a prompt does not cut it short and counts only once it is over', async (t) => {
  const { phone, ivr } = await setup(t);
  const full = Math.ceil(prompts.audio('enter-pin', 'mulaw').length / 160);
  const playing = ivr.play('enter-pin');
  // A collect running alongside the prompt sees nothing until the prompt ends.
  const collecting = ivr.collect({ maxDigits: 3, interDigitTimeoutMs: 5000 });
  let collected = false;
  void collecting.then(() => (collected = true));
  await phone.waitFor(10);
  for (const key of ['9', '8', '7'] as const) await phone.press(ivr.local, key);
  await sleep(50);
  assert.equal(collected, false, 'three keys pressed, but the prompt still plays');
  await playing;
  await phone.waitFor(full);
  await sleep(50);
  assert.equal(phone.received.length, full, 'the whole prompt was played');
  assert.deepEqual(await collecting, { digits: '987', terminatedBy: 'max-digits' });
});

test('keys pressed during a prompt with no collect running are type-ahead for the next one, in order', async (t) => {
  const { phone, ivr } = await setup(t);
  const playing = ivr.play('pin-wrong');
  await phone.waitFor(5);
  for (const key of ['1', '2', '#', '3'] as const) await phone.press(ivr.local, key);
  await playing;
  assert.deepEqual(await ivr.collect({ maxDigits: 8, interDigitTimeoutMs: 5000 }), { digits: '12', terminatedBy: 'terminator' });
  assert.deepEqual(await ivr.collect({ maxDigits: 1, interDigitTimeoutMs: 5000 }), { digits: '3', terminatedBy: 'max-digits' });
});

test('nothing is sent before the caller\'s first RTP packet; then only to where it came from, whatever else arrives', async (t) => {
  const phone = await Phone.open();
  const stranger = await Phone.open();
  const ivr = await IvrSession.open({ localHost: '127.0.0.1', codecPt: 0, dtmfPt: 101, prompts });
  t.after(async () => {
    await ivr.close();
    phone.close();
    stranger.close();
  });
  assert.equal(await ivr.waitForCaller(100), false);
  const started = performance.now();
  await ivr.play('login-ok');
  const full = Math.ceil(prompts.audio('login-ok', 'mulaw').length / 160);
  assert.ok(performance.now() - started >= (full - 1) * 20 * 0.9, 'an unheard prompt still takes its time');
  assert.equal(ivr.packetsSent, 0);

  await phone.hello(ivr.local);
  await ivr.waitForCaller(2000);
  await stranger.hello(ivr.local);
  await sleep(20);
  await ivr.play('login-ok');
  await phone.waitFor(full);
  await sleep(50);
  assert.equal(phone.received.length, full);
  assert.equal(stranger.received.length, 0, 'a later source does not take the stream over');
  assert.deepEqual(ivr.remote, phone.endpoint);
});

test('a spent packet budget ends the session', async (t) => {
  const { phone, ivr } = await setup(t, 0, 30);
  await assert.rejects(ivr.play('locked-out'), IvrSessionClosedError);
  assert.equal(ivr.closed, true);
  await sleep(50);
  assert.equal(phone.received.length, 30);
  assert.equal(ivr.packetsSent, 30);
});

test('keys from SIP INFO bodies are collected like RTP ones', async (t) => {
  const { ivr } = await setup(t);
  const collecting = ivr.collect({ maxDigits: 4, interDigitTimeoutMs: 5000 });
  for (const body of ['Signal=1\r\nDuration=160\r\n', 'Signal=2\r\nDuration=160\r\n', 'Signal=3\r\nDuration=160\r\n', 'Signal=4\r\nDuration=160\r\n']) {
    const key = parseDtmfInfo('application/dtmf-relay', body);
    assert.ok(key);
    ivr.injectInfoDigit(key);
  }
  assert.deepEqual(await collecting, { digits: '1234', terminatedBy: 'max-digits' });
});

test('silence after a key ends the entry by the inter-digit timeout', async (t) => {
  const { phone, ivr } = await setup(t);
  const started = performance.now();
  const collecting = ivr.collect({ maxDigits: 6, interDigitTimeoutMs: 300 });
  await phone.press(ivr.local, '6');
  assert.deepEqual(await collecting, { digits: '6', terminatedBy: 'inter-digit-timeout' });
  assert.ok(performance.now() - started >= 300);
});

test('close (BYE) ends a running collect and a running prompt, and frees the RTP port', async (t) => {
  const phone = await Phone.open();
  t.after(() => phone.close());
  const ivr = await IvrSession.open({ localHost: '127.0.0.1', codecPt: 0, dtmfPt: 101, prompts });
  const port = ivr.local.port;
  const collecting = ivr.collect({ maxDigits: 4, interDigitTimeoutMs: 60000 });
  await ivr.close();
  await assert.rejects(collecting, IvrSessionClosedError);

  const second = await IvrSession.open({ localHost: '127.0.0.1', localPort: port, codecPt: 0, prompts });
  await phone.hello(second.local);
  await second.waitForCaller(2000);
  const playing = second.play('locked-out');
  await phone.waitFor(3);
  await second.close();
  await assert.rejects(playing, IvrSessionClosedError);
  await assert.rejects(second.play('error'), IvrSessionClosedError);
});

test('answer(): opens a session for an INVITE offer, answers with its port, plays in the chosen codec', async (t) => {
  const phone = await Phone.open();
  t.after(() => phone.close());
  const offer = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${phone.endpoint.port} RTP/AVP 8 96`,
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:96 telephone-event/8000',
    '',
  ].join('\r\n');
  const answered = await IvrSession.answer(offer, { localHost: '127.0.0.1', advertisedAddress: '127.0.0.1', prompts, sessionId: 1, sessionVersion: 1 });
  assert.ok(answered.ok);
  if (!answered.ok) return;
  t.after(() => answered.session.close());
  assert.match(answered.answerSdp, new RegExp(`m=audio ${answered.session.local.port} RTP/AVP 8 96\\r\\n`));
  await phone.hello(answered.session.local);
  await answered.session.waitForCaller(2000);
  const playing = answered.session.play('login-ok');
  const collecting = answered.session.collect({ maxDigits: 1, interDigitTimeoutMs: 5000 });
  await phone.press(answered.session.local, '3', 96);
  assert.deepEqual(await collecting, { digits: '3', terminatedBy: 'max-digits' });
  await playing;
  assert.ok(phone.received.length > 0 && phone.received.every((r) => r.packet.payloadType === 8));

  const refused = await IvrSession.answer(offer.replace('RTP/AVP 8 96', 'RTP/AVP 9 96').replace('PCMA/8000', 'G722/8000').replace('rtpmap:8', 'rtpmap:9'), {
    localHost: '127.0.0.1',
    advertisedAddress: '127.0.0.1',
    prompts,
    sessionId: 1,
    sessionVersion: 1,
  });
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.match(refused.reason, /no common codec/);
});
