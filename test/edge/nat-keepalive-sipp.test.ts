/**
 * NAT keep-alives from the proxy's SIP socket to registered UDP flows: a SIPp phone answers each
 * (with a 404, which proves it alive as well as a 200), a silent one is forgotten after three.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { startNatKeepalives } from '../../src/edge/nat-keepalive-sender.ts';
import { RegistrationTable } from '../../src/edge/registrations.ts';
import { getHeader } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { flowKey } from '../../src/sip/request-context.ts';
import { eventually } from '../support/eventually.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from '../sip/sipp.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(phonePort: number) {
  const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false, timers: { t1: 20, t2: 80 } });
  cleanups.push(() => proxy.close());
  await proxy.listen();
  const registry = new Registry();
  const counter = new Counter({ name: 'hotdesk_edge_nat_keepalives_total', help: 'keep-alives', labelNames: ['result'], registers: [registry] });
  const registrations = new RegistrationTable();
  const source = { transport: 'udp' as const, address: '127.0.0.1', port: phonePort };
  registrations.record({ device: 'desk-1', identity: '101', contact: `sip:101@127.0.0.1:${phonePort}`, source, expiresAt: Date.now() + 600_000 }, flowKey(source));
  const stop = startNatKeepalives({ proxy, flows: () => registrations.udpFlows(), intervalSeconds: 1, counter });
  cleanups.push(stop);
  const count = async (result: string) => (await counter.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { count, stop, proxy };
}

describe('NAT keep-alives to registered UDP flows', { timeout: 60_000 }, () => {
  it('a SIPp phone receives an OPTIONS every interval from the edge\'s SIP socket and its 404s count as answers', async () => {
    const phonePort = await freeLoopbackPort();
    const phone: SippRun = await startSipp({ scenario: 'keepalive-uas.xml', port: phonePort, transport: 'udp', calls: 3, timeoutSeconds: 20 });
    cleanups.push(() => phone.kill());
    await waitForListener(phonePort, 'udp');
    const started = Date.now();
    const { count, stop } = await setup(phonePort);
    const result = await phone.done;
    stop();
    assert.equal(result.code, 0, result.output);
    const took = Date.now() - started;
    assert.ok(took >= 2_500, `three keep-alives one second apart took ${took} ms`);
    await eventually('three answers counted', async () => (await count('answered')) === 3, 5_000, 20);
    assert.equal(await count('unanswered'), 0);
  });

  it('a phone that never answers is pinged three times, then no more', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((res) => socket.bind(0, '127.0.0.1', () => res()));
    cleanups.push(() => new Promise<void>((res) => socket.close(() => res())));
    const branches = new Set<string>();
    const sourcePorts = new Set<number>();
    socket.on('message', (data, rinfo) => {
      sourcePorts.add(rinfo.port);
      const r = parseMessage(data, { framing: 'datagram' });
      if (r.ok && r.message.kind === 'request' && r.message.method === 'OPTIONS') branches.add(getHeader(r.message, 'via') ?? '');
    });
    const { count, proxy } = await setup(socket.address().port);
    await eventually('three unanswered keep-alives', async () => (await count('unanswered')) === 3, 20_000, 50);
    await sleep(2_500);
    assert.equal(branches.size, 3, 'three keep-alives (each retransmitted), then the flow was forgotten');
    assert.equal(await count('unanswered'), 3);
    assert.equal(await count('answered'), 0);
    assert.deepEqual([...sourcePorts], [proxy.address('udp').port], 'sent from the SIP socket, the NAT binding the phone registered through');
  });
});
