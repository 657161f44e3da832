/**
 * A hostile client on the phones' network against the real stack (control plane, controller,
 * Kamailio as the PBX, the edge, SIPp as phones): a From header proves nothing. A forged From
 * from a port that never registered is challenged before it can touch a session or a PIN counter;
 * an idle desk's flow cannot call out whatever its From says; and what a phone claims about itself
 * never reaches the PBX, which hears only what the edge proved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ANNOTATION_LOGOUT_REQUESTED } from '../../src/api/labels.ts';
import { IDLE_BLOCK_REASON } from '../../src/edge/dial-decision.ts';
import { sessionYaml } from './manifests.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { ALICE, BOB, eventually, metricValue, registerThroughEdge, startStack, type Stack } from './stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ namespace: 'e2e-hostile', maxAttempts: 2 });
});
after(async () => {
  await stack?.stop();
});

/** An INVITE with the given From URI, from `port` or from a port that never registered; the trace of how it ended. */
async function callFrom(fromUri: string, dialled: string, port?: number): Promise<string> {
  const run = await startSipp({ scenario: 'call-from.xml', remote: stack.edgeAddress, service: dialled, keys: { from_uri: fromUri }, timeoutSeconds: 20, ...(port ? { port } : {}) });
  return (await expectPassed(run, `${fromUri} dialling ${dialled}`)).messages;
}

const CHALLENGE = /SIP\/2\.0 407 Proxy Authentication Required[\s\S]*Proxy-Authenticate: Digest realm="[^"]+", nonce="[A-Za-z0-9_-]+", qop="auth", algorithm=MD5/;

async function aliceSession(): Promise<any> {
  return stack.getJson<any>('hotdesksession', 'alice-at-desk-1');
}

describe('a hostile client cannot act for a desk', { timeout: 240_000 }, () => {
  it('a forged From from a port that never registered cannot log anyone out: the call is challenged', async () => {
    await stack.apply(sessionYaml(stack.ns, 'alice-at-desk-1', 'desk-1', ALICE.name));
    await eventually('alice Active at desk-1', async () => (await aliceSession())?.status?.phase === 'Active');

    for (const from of [`sip:${ALICE.extension}@127.0.0.1`, 'sip:HD0001@127.0.0.1', 'sip:hd0001@127.0.0.1']) {
      const trace = await callFrom(from, '*77*5*');
      assert.match(trace, CHALLENGE, `${from} is challenged`);
      assert.doesNotMatch(trace, /SIP\/2\.0 200 /, `${from}: no logout prompt answered`);
    }
    // Guessing the answer: a wrong password is challenged again and the call goes nowhere.
    const guess = await startSipp({ scenario: 'feature-call-auth.xml', remote: stack.edgeAddress, service: '*77*5*', keys: { caller: ALICE.extension, rtp_port: 9 }, auth: { user: ALICE.extension, password: 'guess' }, timeoutSeconds: 20 });
    const guessed = await guess.done;
    assert.notEqual(guessed.code, 0, 'SIPp expected the IVR to answer; it did not');
    assert.equal(guessed.messages.match(/SIP\/2\.0 407 /g)?.length, 2, 'a wrong answer is challenged again');
    assert.doesNotMatch(guessed.messages, /SIP\/2\.0 200 /);

    const session = await aliceSession();
    assert.equal(session.status.phase, 'Active', 'alice is still logged in');
    assert.equal(session.metadata.annotations?.[ANNOTATION_LOGOUT_REQUESTED], undefined, 'no logout was asked for');
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'logout', result: 'success' }), 0);
  });

  it('wrong PINs under a forged From count nothing and lock nothing', async () => {
    for (const from of ['sip:HD0001@127.0.0.1', 'sip:HD0002@127.0.0.1', 'sip:hd0002@127.0.0.1', `sip:${ALICE.extension}@127.0.0.1`]) {
      const trace = await callFrom(from, `*77*${BOB.extension}*`);
      assert.match(trace, CHALLENGE, `${from} is challenged before any PIN prompt`);
      assert.doesNotMatch(trace, /SIP\/2\.0 200 /);
    }
    const bob = await stack.getJson<any>('hotdeskuser', BOB.name);
    assert.equal(bob.status?.failedPinAttempts ?? 0, 0);
    assert.equal(bob.status?.lockedUntil ?? null, null);
    for (const desk of ['desk-1', 'desk-2']) assert.equal((await stack.getJson<any>('hotdeskdevice', desk)).status?.lockedUntil ?? null, null, desk);
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_pin_failures_total'), 0);
    assert.equal(metricValue(metrics, 'hotdesk_lockouts_total'), 0);
    for (const result of ['success', 'locked_out', 'abandoned', 'error']) assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result }), 0, result);
  });

  it('an idle desk\'s flow cannot call out whatever its From says, and its emergency call carries its location', async () => {
    const port = await registerThroughEdge(stack, 'HD0002');
    const froms = ['sip:hd0002@127.0.0.1', 'sip:127.0.0.1', 'sip:nobody@127.0.0.1', `sip:${ALICE.extension}@127.0.0.1`, 'sip:HD0002@127.0.0.1'];
    for (const from of froms) {
      const trace = await callFrom(from, '0044207946000', port);
      assert.match(trace, new RegExp(`SIP/2\\.0 403 ${IDLE_BLOCK_REASON}`), from);
      assert.doesNotMatch(trace, /X-PBX-Saw/i, `${from}: the PBX never saw it`);
    }
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_blocked_calls_total'), froms.length);

    const desk = await startSipp({ scenario: 'uas-answer.xml', port: stack.emergencyPort, timeoutSeconds: 30 });
    const call = await startSipp({ scenario: 'call-answered.xml', port, remote: stack.edgeAddress, service: '112', keys: { caller: 'nobody' }, timeoutSeconds: 30 });
    await expectPassed(call, 'emergency call with a made-up From');
    const received = (await expectPassed(desk, 'emergency desk')).messages;
    assert.match(received, /P-Emergency-Info: Floor 4 desk 2/i, 'the location of the desk the flow belongs to');
  });

  it('identity claims never reach the PBX; the pool can assert what the edge proved and write its domain', async () => {
    // desk-1's phone, re-synced for alice, registers as her extension.
    const port = await registerThroughEdge(stack, ALICE.extension);
    const callee = await startSipp({ scenario: 'uas-answer.xml', timeoutSeconds: 60, calls: 2 });
    const registration = await startSipp({ scenario: 'register.xml', remote: `127.0.0.1:${stack.kamailio.port}`, keys: { user: '200', contact_port: callee.port }, timeoutSeconds: 15 });
    await expectPassed(registration, 'callee 200 registering with the PBX');

    const spoofed = await startSipp({ scenario: 'call-spoofing.xml', port, remote: stack.edgeAddress, service: '200', keys: { caller: ALICE.extension, spoof: 'Mallory' }, timeoutSeconds: 30 });
    await expectPassed(spoofed, '101 calling 200 with forged identity headers');

    const patched = await stack.cp.kubectl(['patch', 'hotdeskpool', 'office', '--type', 'merge', '-p', '{"spec":{"pbx":{"assertIdentity":true,"rewriteRequestUriHost":true,"domain":"office.example"}}}'], { namespace: stack.ns });
    assert.equal(patched.code, 0, patched.stderr);
    const unrouted = await eventually('the edge writes the pool\'s domain', async () => {
      const trace = await callFrom(`sip:${ALICE.extension}@127.0.0.1`, '0044207946000', port);
      if (!/X-PBX-Saw-Host: office\.example/i.test(trace)) throw new Error(`the PBX saw another host:\n${trace.slice(-3000)}`);
      return trace;
    }, 15_000);
    assert.match(unrouted, /X-PBX-Saw-Identity: "User 101" <sip:101@office\.example>/i, 'the PBX hears the identity the edge proved');

    const asserted = await startSipp({ scenario: 'call-spoofing.xml', port, remote: stack.edgeAddress, service: '200', keys: { caller: ALICE.extension, spoof: 'Mallory' }, timeoutSeconds: 30 });
    await expectPassed(asserted, '101 calling 200 again, with the pool asserting identity');
    const atCallee = (await expectPassed(callee, 'callee 200')).messages;
    const invites = atCallee.split(/(?=INVITE sip:)/).filter((m) => m.startsWith('INVITE'));
    assert.equal(invites.length, 2, atCallee);
    for (const invite of invites) {
      assert.doesNotMatch(invite, /Mallory/, 'no claim of the phone reached the PBX');
      assert.doesNotMatch(invite, /P-Preferred-Identity|Remote-Party-ID|P-Emergency-Info/i);
    }
    assert.doesNotMatch(invites[0]!, /P-Asserted-Identity/i, 'nothing asserted while the pool does not ask for it');
    assert.match(invites[1]!, /P-Asserted-Identity: "User 101" <sip:101@office\.example>/i);

    // A phone that is not a hot desk is not vouched for: the PBX must authenticate it itself.
    const other = await callFrom('sip:555@127.0.0.1', '0044207946000');
    assert.match(other, /X-PBX-Saw: 0044207946000/i);
    assert.match(other, /X-PBX-Saw-Identity:/i);
    assert.doesNotMatch(other, /X-PBX-Saw-Identity:[^\r\n]*sip:/i, 'no identity asserted for it');
  });
});
