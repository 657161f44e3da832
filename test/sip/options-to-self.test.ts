/**
 * OPTIONS meant for the proxy itself is answered there; one for a user goes on to the PBX.
 * The decision table-style, then against real SIPp peers.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { getHeader } from '../../src/sip/message.ts';
import { isOptionsToSelf, optionsAnswer } from '../../src/sip/options-to-self.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import type { SipRequest } from '../../src/sip/message.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from './sipp.ts';

const identity = { hosts: new Set(['sip.office.example', '10.244.0.9']), ports: new Set([5060]) };

function options(uri: string, maxForwards = 70, method = 'OPTIONS'): SipRequest {
  const text = [`${method} ${uri} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKo1', `Max-Forwards: ${maxForwards}`, 'From: <sip:phone@x>;tag=1', `To: <${uri}>`, 'Call-ID: o1', `CSeq: 1 ${method}`, 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(Buffer.from(text), { framing: 'datagram' });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

describe('OPTIONS to the edge itself', { timeout: 90_000 }, () => {
  it('decides what is ours', () => {
    const cases: Array<[string, number, string, boolean]> = [
      ['sip:sip.office.example', 70, 'OPTIONS', true],
      ['sip:sip.office.example:5060', 70, 'OPTIONS', true],
      ['sip:10.244.0.9;transport=udp', 70, 'OPTIONS', true],
      ['sip:SIP.office.example', 70, 'OPTIONS', true],
      ['sip:sip.office.example:5070', 70, 'OPTIONS', false],
      ['sip:101@sip.office.example', 70, 'OPTIONS', false],
      ['sip:101@pbx.example', 70, 'OPTIONS', false],
      ['sip:pbx.example', 70, 'OPTIONS', false],
      ['sip:101@pbx.example', 0, 'OPTIONS', true],
      ['sip:101@pbx.example', 1, 'OPTIONS', true],
      ['sip:101@pbx.example', 2, 'OPTIONS', false],
      ['sip:sip.office.example', 70, 'MESSAGE', false],
      ['tel:+15551234', 70, 'OPTIONS', false],
    ];
    for (const [uri, mf, method, ours] of cases) assert.equal(isOptionsToSelf(options(uri, mf, method), identity), ours, `${method} ${uri} Max-Forwards ${mf}`);
  });

  it('answers 200 with Allow, Accept and Supported', () => {
    const answer = optionsAnswer(options('sip:sip.office.example'), 'tag1');
    assert.equal(answer.status, 200);
    assert.match(getHeader(answer, 'allow')!, /INVITE.*OPTIONS.*REGISTER/);
    assert.equal(getHeader(answer, 'accept'), 'application/sdp');
    assert.equal(getHeader(answer, 'supported'), '');
    assert.match(getHeader(answer, 'to')!, /;tag=tag1$/);
  });

  const running: SippRun[] = [];
  const proxies: SipProxy[] = [];
  afterEach(async () => {
    for (const run of running.splice(0)) run.kill();
    for (const proxy of proxies.splice(0)) await proxy.close();
  });

  it('with SIPp: the proxy answers OPTIONS to itself and a Max-Forwards 0 ping, and forwards the one for a user', async () => {
    const pbxPort = await freeLoopbackPort();
    const port = await freeLoopbackPort();
    const sent: string[] = [];
    const proxy = new SipProxy({ host: '127.0.0.1', udpPort: port, tcpPort: false, timers: { t1: 200 }, metrics: { requestSent: (m) => sent.push(m) } });
    proxies.push(proxy);
    proxy.on('request', (req) => void req.proxy({ destination: { host: '127.0.0.1', port: pbxPort } }));
    await proxy.listen();
    const pbx = await startSipp({ scenario: 'options-uas.xml', port: pbxPort, transport: 'udp' });
    running.push(pbx);
    await waitForListener(pbxPort, 'udp');
    const phone = await startSipp({ scenario: 'options-uac.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${port}`, service: '101' });
    running.push(phone);
    const [phoneResult, pbxResult] = await Promise.all([phone.done, pbx.done]);
    const both = `SIPp phone:\n${phoneResult.output}\nSIPp PBX:\n${pbxResult.output}`;
    assert.equal(phoneResult.code, 0, both);
    assert.equal(pbxResult.code, 0, both);
    assert.deepEqual(sent, ['OPTIONS'], 'one OPTIONS went to the PBX');
  });
});
