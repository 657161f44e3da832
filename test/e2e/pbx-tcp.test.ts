/**
 * A PBX reached over TCP (pbx.transport: tcp) is recognised by the connection the edge opened to
 * it. Kamailio honours the `alias` in the edge's Via (RFC 5923), so the INVITE for a desk comes
 * back on the connection the edge's REGISTER opened, not on one from a port of Kamailio's choosing:
 * the edge takes it as the PBX's, and the desk (SIPp on UDP) rings and answers. A client on the
 * PBX's own host that connects over TCP from another port and asks for the same desk's flow is not
 * the PBX: its INVITE goes the way of any phone's call, to the PBX, which cannot route it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../support/ports.ts';
import { startKamailio } from './kamailio.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { eventually, metricValue, POOL, registerThroughEdge, startStack, type Stack } from './stack.ts';

const CALLER = '200';
let stack: Stack;
let deskPort: number;

before(async () => {
  stack = await startStack({
    namespace: 'e2e-pbx-tcp',
    pbx: { host: '127.0.0.1', start: (emergencyPort) => startKamailio({ emergencyPort, tcpAcceptAliases: true }) },
  });
  const r = await stack.cp.kubectl(['patch', 'hotdeskpool', POOL, '--type', 'merge', '-p', JSON.stringify({ spec: { pbx: { transport: 'tcp' } } })], { namespace: stack.ns });
  assert.equal(r.code, 0, r.stderr);
  deskPort = await freeLoopbackPort();
});
after(async () => {
  await stack?.stop();
});

const failureContext = () => `\n--- Kamailio ---\n${stack.kamailio.log().slice(-6_000)}`;

describe('a PBX over TCP', { timeout: 180_000 }, () => {
  it('sends its INVITE for a desk back on the connection the edge opened, and the desk rings', async () => {
    // The desk registers through the edge until the edge follows the pool to TCP.
    await eventually('the desk registered at the PBX over TCP', async () => {
      await registerThroughEdge(stack, 'HD0001', deskPort);
      return /PBX got REGISTER over tcp from 127\.0\.0\.1:\d+/.test(stack.kamailio.log()) && (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration?.identity === 'HD0001';
    }, 30_000, 500);
    const callerPort = await freeLoopbackPort();
    const caller = await startSipp({ scenario: 'register.xml', port: callerPort, remote: `127.0.0.1:${stack.kamailio.port}`, keys: { user: CALLER, contact_port: callerPort }, timeoutSeconds: 15 });
    await expectPassed(caller, 'the caller registering on the PBX');

    const desk = await startSipp({ scenario: 'uas-answer.xml', port: deskPort, timeoutSeconds: 30 });
    const call = await startSipp({ scenario: 'call-answered.xml', port: callerPort, remote: `127.0.0.1:${stack.kamailio.port}`, service: 'HD0001', keys: { caller: CALLER }, timeoutSeconds: 30 });
    await expectPassed(call, `the caller calling HD0001${failureContext()}`);
    const answered = await expectPassed(desk, 'the desk answering');
    assert.match(answered.messages, /INVITE sip:HD0001@127\.0\.0\.1:/, 'the desk got its own Contact back');
    assert.match(answered.messages, /BYE sip:/, 'and the caller\'s BYE, through the edge');
    // Kamailio opened no connection of its own to the edge: the edge's one is all there is.
    assert.equal(metricValue(await stack.metrics(), 'sip_connections', { transport: 'tcp' }), 1);
  });

  it('a client on the PBX\'s host connecting from another port is a phone, not the PBX', async () => {
    const token = /PBX lookup found sip:([A-Za-z0-9_-]{8,})@/.exec(stack.kamailio.log())?.[1];
    assert.ok(token, `the PBX stored the desk's flow token${failureContext()}`);
    const desk = await startSipp({ scenario: 'uas-answer.xml', port: deskPort, timeoutSeconds: 8 });
    const run = await startSipp({ scenario: 'call-rejected.xml', transport: 'tcp', remote: stack.edgeAddress, service: token, keys: { caller: CALLER }, timeoutSeconds: 15 });
    const refused = await expectPassed(run, 'the hostile client asking for the desk\'s flow');
    // The edge passed it to the PBX as a phone's call; the PBX knows no user by the token's name.
    assert.match(refused.messages, /SIP\/2\.0 404 Not Found/);
    assert.match(refused.messages, new RegExp(`X-PBX-Saw: ${token}`, "i"));
    const unrung = await desk.done;
    assert.doesNotMatch(unrung.messages, /INVITE sip:/, 'the desk phone saw no INVITE');
  });
});
