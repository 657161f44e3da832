/**
 * The media relay between two replicas on real UDP sockets (loopback addresses 127.0.0.21 and
 * .22 stand for two pods, 127.0.0.1 for the phone): a phone whose login call is A's sends its RTP
 * to B's socket on the call's port; A's session hears it, and the phone hears A's packets from B's
 * socket on that port, the address it sent to. Hostile datagrams on the relay port, from strangers
 * and from a peer, are dropped and counted and change nothing. The peer list is given as a list
 * here; in the edge it comes from the Service's EndpointSlices (replica-peers.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import { startMediaPorts, type MediaPorts } from '../../src/edge/media-ports.ts';
import { encodeRelayDatagram } from '../../src/edge/media-relay-datagram.ts';
import { encodeRtpPacket } from '../../src/media/rtp-packet.ts';
import { RtpSession } from '../../src/media/rtp-session.ts';
import { eventually } from '../support/eventually.ts';
import { freeLoopbackPort } from '../support/ports.ts';

const A = '127.0.0.21';
const B = '127.0.0.22';
const C = '127.0.0.23';
const PHONE = '127.0.0.1';
const FIRST = 46_000 + 8 * (process.pid % 200);
const RANGE = { min: FIRST, max: FIRST + 2 };

function rtp(sequenceNumber: number): Buffer {
  return encodeRtpPacket({ marker: false, payloadType: 0, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 42, payload: Buffer.alloc(160, 0xff) });
}

async function udp(host: string, port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return socket;
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('media relay between two replicas', { timeout: 60_000 }, () => {
  let relayPort: number;
  const registries = { a: new Registry(), b: new Registry() };
  let a: MediaPorts;
  let b: MediaPorts;
  let phone: Socket;
  let peerC: Socket;
  const heard: Array<{ from: string; seq: number }> = [];
  const peers = { list: () => [`${A}:5060`, `${B}:5060`, `${C}:5060`], isPeerAddress: (x: string) => [A, B, C].includes(x) };

  before(async () => {
    relayPort = await freeLoopbackPort();
    const logger = { debug() {}, info() {}, warn() {}, error() {} } as never;
    a = await startMediaPorts({ host: A, range: RANGE, relayPort, ownAddress: () => A, peers, registry: registries.a, logger });
    b = await startMediaPorts({ host: B, range: RANGE, relayPort, ownAddress: () => B, peers, registry: registries.b, logger });
    phone = await udp(PHONE);
    phone.on('message', (msg, from) => heard.push({ from: `${from.address}:${from.port}`, seq: msg.readUInt16BE(2) }));
    peerC = await udp(C, relayPort);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    phone?.close();
    peerC?.close();
  });

  it('binds every even port of the range, and a port already bound fails the start, naming it', async () => {
    assert.deepEqual(a.pool.ports, [FIRST, FIRST + 2]);
    await assert.rejects(startMediaPorts({ host: A, range: RANGE, relayPort: undefined, ownAddress: () => A, peers, registry: new Registry(), logger: { debug() {}, info() {}, warn() {}, error() {} } as never }), new RegExp(`cannot bind RTP port ${A.replace(/\./g, '\\.')}:${FIRST}`));
  });

  it('lends each port to one call at a time, and none when all are taken', async () => {
    const first = a.pool.borrow(PHONE);
    const second = a.pool.borrow(PHONE);
    assert.ok(first && second);
    assert.notEqual(first.address().port, second.address().port);
    assert.equal(a.pool.borrow(PHONE), undefined, 'both ports serve calls');
    first.close();
    const again = a.pool.borrow(PHONE);
    assert.equal(again?.address().port, first.address().port, 'a port given back is lent again');
    again?.close();
    second.close();
    assert.equal(a.pool.inUse, 0);
  });

  it("relays a phone's RTP that reached B to A's call, and A's packets to the phone from B's socket on the port", async () => {
    const session = await RtpSession.open({ host: A, ports: a.pool, signallingAddress: PHONE });
    try {
      const port = session.local.port;
      const got: number[] = [];
      session.on('packet', (p) => got.push(p.sequenceNumber));
      // A told B of its call (claim) when it borrowed the port; the phone keeps talking, as phones do.
      let seq = 1;
      const talking = setInterval(() => phone.send(rtp(seq++), port, B), 20);
      try {
        await eventually("A's call hears the phone through B", () => got.length >= 3);
        assert.deepEqual(session.remote, { address: PHONE, port: phone.address().port }, "A latched the phone's own address and port");
        session.sendPacket(0, Buffer.alloc(160, 0xff));
        await eventually('the phone hears A', () => heard.length >= 1);
        assert.equal(heard[0]!.from, `${B}:${port}`, 'from the address and port the phone sent to');
      } finally {
        clearInterval(talking);
      }
      assert.ok((await value(registries.b, 'hotdesk_edge_rtp_relayed_packets_total', { direction: 'to_owner' })) >= 3);
      assert.equal(await value(registries.b, 'hotdesk_edge_rtp_relayed_packets_total', { direction: 'to_phone' }), 1);
      assert.equal(await value(registries.a, 'hotdesk_edge_rtp_relayed_packets_total', { direction: 'to_owner' }), 0, 'A relayed nothing itself');
      assert.equal(await value(registries.b, 'hotdesk_edge_rtp_relays', {}), 1, 'one relay runs on B');
    } finally {
      await session.close();
    }
    // The call ended: A released its claim, and B forgets the relay and drops what the phone still sends.
    await eventually('B forgot the relay', async () => (await value(registries.b, 'hotdesk_edge_rtp_relays', {})) === 0);
    const before = await value(registries.b, 'hotdesk_edge_rtp_relay_dropped_total', { reason: 'no_owner' });
    phone.send(rtp(999), FIRST, B);
    phone.send(rtp(999), FIRST + 2, B);
    await eventually('late packets dropped as nobody\'s', async () => (await value(registries.b, 'hotdesk_edge_rtp_relay_dropped_total', { reason: 'no_owner' })) === before + 2);
  });

  it('lets both replicas use one port at once for phones at different addresses: each phone reaches its own call', async () => {
    const other = await udp('127.0.0.6');
    const onA = await RtpSession.open({ host: A, ports: a.pool, signallingAddress: PHONE });
    // B's call for the other phone takes the same port number (B borrows until it gets it).
    const lent = [b.pool.borrow('127.0.0.6'), b.pool.borrow('127.0.0.6')];
    const same = lent.find((l) => l?.address().port === onA.local.port)!;
    for (const l of lent) if (l !== same) l?.close();
    const onB = await RtpSession.open({ host: B, ports: { borrow: () => same }, signallingAddress: '127.0.0.6' });
    try {
      const heardA: string[] = [];
      const heardB: string[] = [];
      onA.on('packet', (_p, from) => heardA.push(from.address));
      onB.on('packet', (_p, from) => heardB.push(from.address));
      const port = onA.local.port;
      await eventually('both phones reach their calls through B', () => {
        phone.send(rtp(1), port, B);
        other.send(rtp(1), port, B);
        return heardA.length > 0 && heardB.length > 0;
      });
      assert.ok(heardA.every((x) => x === PHONE) && heardB.every((x) => x === '127.0.0.6'), `A heard ${heardA}, B heard ${heardB}`);
    } finally {
      await onA.close();
      await onB.close();
      other.close();
    }
  });

  it("keeps a call's RTP on its own replica when it arrives there: nothing relayed, and another address's packets are not the call's", async () => {
    const relayedBefore = await value(registries.a, 'hotdesk_edge_rtp_relayed_packets_total', { direction: 'to_owner' });
    const stranger = await udp('127.0.0.5');
    const session = await RtpSession.open({ host: A, ports: a.pool, signallingAddress: PHONE });
    try {
      const got: string[] = [];
      session.on('packet', (_p, from) => got.push(`${from.address}:${from.port}`));
      stranger.send(rtp(1), session.local.port, A);
      phone.send(rtp(2), session.local.port, A);
      await eventually("A's call hears the phone", () => got.length >= 1);
      stranger.send(rtp(3), session.local.port, A);
      phone.send(rtp(4), session.local.port, A);
      await eventually('and again', () => got.length >= 2);
      assert.deepEqual(got, [`${PHONE}:${phone.address().port}`, `${PHONE}:${phone.address().port}`], 'only the phone at the signalling address');
      assert.equal(await value(registries.a, 'hotdesk_edge_rtp_relayed_packets_total', { direction: 'to_owner' }), relayedBefore);
    } finally {
      await session.close();
      stranger.close();
    }
  });

  it('drops and counts hostile datagrams on the relay port, from strangers and from a peer, and goes on serving its calls', async () => {
    const count = (reason: string) => value(registries.a, 'hotdesk_edge_rtp_relay_dropped_total', { reason });
    // Earlier cases' last packets may have been dropped too: count from here.
    const baseline = Object.fromEntries(await Promise.all(['not_peer', 'malformed', 'no_call', 'no_relay'].map(async (r) => [r, await count(r)] as const)));
    const dropped = async (reason: string) => (await count(reason)) - baseline[reason]!;
    const stranger = await udp('127.0.0.5');
    try {
      // From an address that is no ready peer: not even decoded.
      const media = encodeRelayDatagram({ kind: 'from-phone', rtpPort: FIRST, phone: { address: PHONE, port: 4000 }, payload: rtp(1) });
      stranger.send(media, relayPort, A);
      stranger.send(Buffer.from('garbage'), relayPort, A);
      await eventually('strangers dropped', async () => (await dropped('not_peer')) === 2);
      // From a peer (C): garbage, a packet for a call A does not have, and a packet to a phone that never sent to A.
      peerC.send(Buffer.from('HR\u0001\u0009garbage'), relayPort, A);
      peerC.send(Buffer.alloc(0), relayPort, A);
      peerC.send(media, relayPort, A);
      peerC.send(encodeRelayDatagram({ kind: 'to-phone', rtpPort: FIRST, phone: { address: '127.0.0.9', port: 9 }, payload: rtp(1) }), relayPort, A);
      await eventually('malformed, no call, no relay', async () => (await dropped('malformed')) === 2 && (await dropped('no_call')) === 1 && (await dropped('no_relay')) === 1, 5000).catch(async (err) => {
        throw new Error(`${String(err)}\n${await registries.a.metrics()}`);
      });
      // A forged claim from a peer for the phone's address only sends the phone's packets to that peer; A's own call still wins on its own port.
      const session = await RtpSession.open({ host: A, ports: a.pool, signallingAddress: PHONE });
      try {
        const got: number[] = [];
        session.on('packet', (p) => got.push(p.sequenceNumber));
        peerC.send(encodeRelayDatagram({ kind: 'claim', rtpPort: session.local.port, phone: { address: PHONE, port: 0 }, payload: Buffer.alloc(0) }), relayPort, A);
        phone.send(rtp(7), session.local.port, A);
        await eventually("A's call still hears its phone", () => got.includes(7));
      } finally {
        await session.close();
      }
    } finally {
      stranger.close();
    }
  });
});
