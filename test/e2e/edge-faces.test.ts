/**
 * The edge's two faces end to end: the edge binds every address, phones reach it on its advertised
 * host (127.0.0.4), the PBX (Kamailio on 127.0.0.1) is told the PBX-facing host (127.0.0.5). An
 * emergency call from a SIPp phone (127.0.0.3) is relayed by Kamailio to a SIPp callee, which sees
 * the edge's PBX face in Via and both faces in Record-Route; a BYE from either end comes through.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startStack, type Stack } from './stack.ts';
import { startSipp, waitForListener, freeLoopbackPort, type SippRun } from '../sip/sipp.ts';

const PHONE = '127.0.0.3';
const PHONE_FACE = '127.0.0.4';
const PBX_FACE = '127.0.0.5';

let stack: Stack;
before(async () => {
  stack = await startStack({ namespace: `e2e-faces-${process.pid}`, edgeHost: '0.0.0.0', advertisedHost: PHONE_FACE, pbxFacingHost: PBX_FACE });
});
after(async () => {
  await stack?.stop();
});
const running: SippRun[] = [];
afterEach(() => {
  for (const run of running.splice(0)) run.kill();
});

async function emergencyCall(calleeScenario: string, phoneScenario: string): Promise<void> {
  const callee = await startSipp({ scenario: calleeScenario, port: stack.emergencyPort, transport: 'udp', timeoutSeconds: 30 });
  running.push(callee);
  await waitForListener(stack.emergencyPort, 'udp');
  const phone = await startSipp({ scenario: phoneScenario, port: await freeLoopbackPort(), transport: 'udp', localAddress: PHONE, remote: `${PHONE_FACE}:${stack.edge.sipPort}`, service: '911', timeoutSeconds: 30 });
  running.push(phone);
  const [phoneResult, calleeResult] = await Promise.all([phone.done, callee.done]);
  const both = `SIPp phone:\n${phoneResult.output}\nSIPp callee behind the PBX:\n${calleeResult.output}`;
  assert.equal(phoneResult.code, 0, both);
  assert.equal(calleeResult.code, 0, both);
}

describe('the edge\'s two faces, through Kamailio', { timeout: 240_000 }, () => {
  it('the PBX side sees the PBX-facing host, the phone the advertised one; the phone hangs up', async () => {
    await emergencyCall('faces-pbx-hung-up.xml', 'faces-uac-hangs-up.xml');
  });

  it('the callee behind the PBX hangs up: the BYE reaches the edge on its PBX face and the phone from the advertised one', async () => {
    await emergencyCall('faces-pbx-hangs-up.xml', 'faces-uac-hung-up.xml');
  });
});
