/**
 * Call policy at the edge with SIPp phones and Kamailio as the PBX: an idle desk may only call the
 * emergency numbers (which reach the PBX carrying the desk's location), a logged-in extension's
 * calls and PBX feature codes pass through untouched, and phones that are not hot desks are not
 * the edge's business. Each desk phone registers through the edge first and calls from the same
 * port: that flow is what tells the edge which desk is calling.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IDLE_BLOCK_REASON } from '../../src/edge/dial-decision.ts';
import { sessionYaml } from './manifests.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { RtpPhone } from './rtp-phone.ts';
import { ALICE, BOB, DESK_LOCATION, eventually, metricValue, registerThroughEdge, startStack, type Stack } from './stack.ts';

let stack: Stack;
/** The SIP ports of the phones at desk-1 and desk-2, registered as their idle accounts. */
let desk1Port: number;
let desk2Port: number;
before(async () => {
  stack = await startStack({ namespace: 'e2e-policy' });
  desk1Port = await registerThroughEdge(stack, 'HD0001');
  desk2Port = await registerThroughEdge(stack, 'HD0002');
});
after(async () => {
  await stack?.stop();
});

/** `caller` dials from `port` (a registered desk phone's), or from a port that never registered. */
async function rejectedCall(caller: string, dialled: string, port?: number): Promise<string> {
  const run = await startSipp({ scenario: 'call-rejected.xml', remote: stack.edgeAddress, service: dialled, keys: { caller }, timeoutSeconds: 20, ...(port ? { port } : {}) });
  return (await expectPassed(run, `${caller} dialling ${dialled}`)).messages;
}

describe('call policy through the edge', { timeout: 150_000 }, () => {
  it('refuses an idle desk\'s ordinary call with 403 and the reason', async () => {
    const trace = await rejectedCall('HD0001', '0044207946000', desk1Port);
    assert.match(trace, new RegExp(`SIP/2\\.0 403 ${IDLE_BLOCK_REASON}`));
    assert.doesNotMatch(trace, /X-PBX-Saw/i, 'the PBX never saw it');
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_blocked_calls_total'), 1);
  });

  it('routes an idle desk\'s 911 to the emergency desk with the desk\'s location', async () => {
    const desk = await startSipp({ scenario: 'uas-answer.xml', port: stack.emergencyPort, timeoutSeconds: 30 });
    const call = await startSipp({ scenario: 'call-answered.xml', port: desk1Port, remote: stack.edgeAddress, service: '911', keys: { caller: 'HD0001' }, timeoutSeconds: 30 });
    await expectPassed(call, 'emergency caller');
    const received = await expectPassed(desk, 'emergency desk');
    assert.match(received.messages, /INVITE sip:911@127\.0\.0\.1/);
    assert.match(received.messages, new RegExp(`P-Emergency-Info: ${DESK_LOCATION}`, 'i'));
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_emergency_calls_total'), 1);
    assert.equal(metricValue(metrics, 'hotdesk_blocked_calls_total'), 1);
  });

  it('forwards a logged-in extension\'s call to a registered user and a PBX feature code untouched', async () => {
    await stack.apply(sessionYaml(stack.ns, 'alice-at-desk-1', 'desk-1', ALICE.name));
    await eventually('session Active', async () => (await stack.getJson<any>('hotdesksession', 'alice-at-desk-1'))?.status?.phase === 'Active');
    // As after a check-sync: desk-1's phone now registers as alice's extension.
    await registerThroughEdge(stack, ALICE.extension, desk1Port);

    const callee = await startSipp({ scenario: 'uas-answer.xml', timeoutSeconds: 30 });
    const registration = await startSipp({ scenario: 'register.xml', remote: `127.0.0.1:${stack.kamailio.port}`, keys: { user: '200', contact_port: callee.port }, timeoutSeconds: 15 });
    await expectPassed(registration, 'callee 200 registering with the PBX');

    const call = await startSipp({ scenario: 'call-answered.xml', port: desk1Port, remote: stack.edgeAddress, service: '200', keys: { caller: ALICE.extension }, timeoutSeconds: 30 });
    const caller = await expectPassed(call, '101 calling 200');
    const answered = await expectPassed(callee, 'callee 200');
    assert.match(answered.messages, /INVITE sip:200@127\.0\.0\.1/);
    assert.match(answered.messages, /From: <sip:101@127\.0\.0\.1>/);
    assert.match(caller.messages, /BYE sip:callee@/, 'the BYE went to the callee along the route set');
    // The edge reports the occupant's activity (for the pool's idle logout).
    await eventually('activity recorded', async () => (await stack.getJson<any>('hotdesksession', 'alice-at-desk-1'))?.status?.lastActivityAt);

    const featureCode = await rejectedCall(ALICE.extension, '*62', desk1Port);
    assert.match(featureCode, /X-PBX-Saw: \*62/i, 'the PBX got *62 as dialled');
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_blocked_calls_total'), 1);
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 0);
  });

  it('gives an occupied desk\'s 112 the desk\'s location, not what the phone claims', async () => {
    const desk = await startSipp({ scenario: 'uas-answer.xml', port: stack.emergencyPort, timeoutSeconds: 30 });
    const call = await startSipp({ scenario: 'call-spoofing.xml', port: desk1Port, remote: stack.edgeAddress, service: '112', keys: { caller: ALICE.extension, spoof: 'Somewhere-else' }, timeoutSeconds: 30 });
    await expectPassed(call, '101 calling 112');
    const received = (await expectPassed(desk, 'emergency desk')).messages;
    assert.match(received, new RegExp(`P-Emergency-Info: ${DESK_LOCATION}`, 'i'));
    assert.doesNotMatch(received, /Somewhere-else/, 'the phone\'s own location, identity claims and Route were removed');
    assert.doesNotMatch(received, /P-Preferred-Identity|Remote-Party-ID/i);
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_emergency_calls_total'), 2);
  });

  it('leaves a phone that is not a hot desk alone', async () => {
    const trace = await rejectedCall('555', '0044207946000');
    assert.match(trace, /X-PBX-Saw: 0044207946000/i);
    assert.match(trace, /SIP\/2\.0 404 Not Found/);
    // desk-1's phone still has its idle line registered: calling from it is calling as an idle desk.
    const idleStarCode = await rejectedCall('HD0001', '*62', desk1Port);
    assert.match(idleStarCode, new RegExp(`SIP/2\\.0 403 ${IDLE_BLOCK_REASON}`));
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_blocked_calls_total'), 2);
  });

  it('follows the pool to Yeastar codes: *93 asks for the extension, then the PIN; *093 logs out', async () => {
    const patched = await stack.cp.kubectl(['patch', 'hotdeskpool', 'office', '--type', 'merge', '-p', '{"spec":{"featureCodes":{"preset":"yeastar"}}}'], { namespace: stack.ns });
    assert.equal(patched.code, 0, patched.stderr);
    // Once the edge has the new codes, 3CX's login is just a number an idle desk may not call.
    await eventually('3CX code retired', async () => /403 /.test(await rejectedCall('HD0002', '*77*102*', desk2Port)), 10_000);

    const media = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'feature-call.xml', port: desk2Port, remote: stack.edgeAddress, service: '*93', keys: { caller: 'HD0002', rtp_port: media.port }, timeoutSeconds: 45 });
      await media.waitForPackets(5);
      await media.press(`${BOB.extension}#`);
      await media.press(`${BOB.pin}#`);
      await expectPassed(call, '*93 login');
    } finally {
      await media.close();
    }
    const session = await eventually('bob Active at desk-2', async () => {
      const list = await stack.getJson<any>('hotdesksessions');
      return list?.items.find((s: any) => s.spec.user === BOB.name && s.spec.device === 'desk-2' && s.status?.phase === 'Active');
    });
    const logoutMedia = await RtpPhone.open();
    try {
      const logout = await startSipp({ scenario: 'feature-call.xml', port: desk2Port, remote: stack.edgeAddress, service: '*093', keys: { caller: BOB.extension, rtp_port: logoutMedia.port }, timeoutSeconds: 30 });
      await expectPassed(logout, '*093 logout');
    } finally {
      await logoutMedia.close();
    }
    const ended = await eventually('bob logged out', async () => {
      const s = await stack.getJson<any>('hotdesksession', session.metadata.name);
      return s?.status?.phase === 'Ended' ? s : undefined;
    });
    assert.equal(ended.status.endReason, 'logout');
  });
});
