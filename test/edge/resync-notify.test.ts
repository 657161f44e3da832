/**
 * The check-sync NOTIFY over real UDP with the edge's SIP stack and RFC 3261 default timers: a
 * phone that misses the first datagram hears the retransmission within a second (not after a
 * 32 s timeout), and changes arriving while a NOTIFY is unanswered add one NOTIFY, not a queue.
 * The API side (pool cache, status writer) is replaced by recorders: this is about the SIP flow.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import { ANNOTATION_REVISION, LABEL_DEVICE } from '../../src/api/labels.ts';
import { EdgeMetrics } from '../../src/edge/edge-metrics.ts';
import { LoginTracker } from '../../src/edge/login-tracker.ts';
import type { PoolView } from '../../src/edge/pool-view.ts';
import { RegistrationTable } from '../../src/edge/registrations.ts';
import { Resyncer } from '../../src/edge/resync.ts';
import type { EdgeStatusWriter } from '../../src/edge/status-writer.ts';
import { createLogger } from '../../src/log.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { eventually } from '../support/eventually.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface PhoneLog {
  /** Every NOTIFY datagram received: its Call-ID and when. */
  notifies: Array<{ callId: string; at: number }>;
}

/** A phone on UDP that answers a NOTIFY with 200 when `answer(callId, nth)` says so. */
async function phone(answer: (callId: string, nthDatagramOfThisCall: number) => boolean): Promise<{ socket: Socket; port: number; log: PhoneLog }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  const log: PhoneLog = { notifies: [] };
  socket.on('message', (msg, from) => {
    const text = msg.toString('latin1');
    if (!text.startsWith('NOTIFY ')) return;
    const callId = /^Call-ID:\s*(.+)$/im.exec(text)?.[1]?.trim() ?? '';
    log.notifies.push({ callId, at: Date.now() });
    const nth = log.notifies.filter((n) => n.callId === callId).length;
    if (!answer(callId, nth)) return;
    const copied = text.split('\r\n').filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
    const response = ['SIP/2.0 200 OK', ...copied, 'Content-Length: 0', '', ''].join('\r\n');
    socket.send(response, from.port, from.address);
  });
  return { socket, port: (socket.address()).port, log };
}

async function edgeSide(phonePort: number) {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false });
  await proxy.listen();
  cleanups.push(() => proxy.close());
  let handler: { onAdd: (cm: unknown) => void; onUpdate: (old: unknown, cm: unknown) => void } | undefined;
  const view = { configMaps: { addHandler: (h: typeof handler) => { handler = h; } }, device: () => undefined } as unknown as PoolView;
  const acknowledged: string[] = [];
  const status = { device: async (_device: string, patch: { lastResync?: { acknowledgedAt: string | null } }) => { if (patch.lastResync?.acknowledgedAt) acknowledged.push(patch.lastResync.acknowledgedAt); } } as unknown as EdgeStatusWriter;
  const metrics = new EdgeMetrics(new Registry());
  const registrations = new RegistrationTable();
  registrations.record({ device: 'desk-1', identity: 'HD0001', contact: `sip:HD0001@127.0.0.1:${phonePort}`, source: { transport: 'udp', address: '127.0.0.1', port: phonePort }, expiresAt: Date.now() + 3_600_000 });
  new Resyncer({ proxy, view, registrations, status, metrics, logins: new LoginTracker(metrics), logger: createLogger('test', {}, {}) });
  const configMap = (revision: string) => ({ metadata: { labels: { [LABEL_DEVICE]: 'desk-1' }, annotations: { [ANNOTATION_REVISION]: revision } } });
  handler!.onAdd(configMap('r0'));
  let last = 'r0';
  return {
    acknowledged,
    change(revision: string) {
      handler!.onUpdate(configMap(last), configMap(revision));
      last = revision;
    },
  };
}

test('a phone that misses the first NOTIFY datagram gets the retransmission within a second (Timer E, T1 = 500 ms)', async () => {
  const { port, log } = await phone((_callId, nth) => nth >= 2);
  const edge = await edgeSide(port);
  const started = Date.now();
  edge.change('r1');
  await eventually('re-sync acknowledged', async () => edge.acknowledged.length === 1, 5_000, 20);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1_500, `acknowledged after ${elapsed} ms`);
  assert.equal(new Set(log.notifies.map((n) => n.callId)).size, 1, 'one transaction: the same NOTIFY retransmitted');
  const gap = log.notifies[1]!.at - log.notifies[0]!.at;
  assert.ok(gap >= 400 && gap < 1_000, `retransmitted after ${gap} ms (T1)`);
});

test('changes while a NOTIFY is unanswered add only the latest one, not a queue', async () => {
  let firstCall: string | undefined;
  let releaseFirst = false;
  const { port, log } = await phone((callId) => {
    firstCall ??= callId;
    return callId !== firstCall || releaseFirst;
  });
  const edge = await edgeSide(port);
  edge.change('r1');
  await eventually('first NOTIFY arrived', async () => log.notifies.length >= 1, 5_000, 20);
  edge.change('r2');
  edge.change('r3');
  edge.change('r4');
  // The first phone answer comes only on a later retransmission.
  await new Promise((r) => setTimeout(r, 600));
  releaseFirst = true;
  await eventually('two re-syncs acknowledged', async () => edge.acknowledged.length === 2, 10_000, 20);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(new Set(log.notifies.map((n) => n.callId)).size, 2, 'the NOTIFY in flight, then one for the latest change');
  assert.equal(edge.acknowledged.length, 2);
});
