/**
 * Login and logout at a desk with SIPp phones through the edge to Kamailio: the phone registers as
 * its idle account, dials *77*101*, hears the prompts, enters the PIN by RFC 4733, is told to
 * re-sync, re-registers as 101, and logs out with *77*5*. Its calls come from another port than its
 * REGISTER (the registered port listens for the NOTIFY), as from an edge replica that did not see
 * the REGISTER: the edge challenges each call and the phone answers with its account's password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RtpPhone } from './rtp-phone.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { ALICE, eventually, fetchProvisioning, metricValue, startStack, type Stack } from './stack.ts';
import { freeLoopbackPort } from '../support/ports.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ namespace: 'e2e-login' });
});
after(async () => {
  await stack?.stop();
});

async function register(port: number, user: string): Promise<void> {
  const run = await startSipp({ scenario: 'register.xml', port, remote: stack.edgeAddress, keys: { user, contact_port: port }, timeoutSeconds: 15 });
  await expectPassed(run, `REGISTER as ${user}`);
}

async function configMap(): Promise<any> {
  return stack.getJson('configmap', 'desk-1-provisioning');
}

describe('login at a desk with SIPp phones', { timeout: 150_000 }, () => {
  it('logs alice in by *77*101* and RFC 4733 PIN, re-syncs the phone, then logs her out with *77*5*', async () => {
    const phonePort = await freeLoopbackPort();
    await register(phonePort, 'HD0001');
    const registered = await eventually('desk-1 registration in status', async () => {
      const reg = (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration;
      return reg?.identity === 'HD0001' ? reg : undefined;
    });
    assert.match(registered.contact, new RegExp(`HD0001@127\\.0\\.0\\.1:${phonePort}`));
    const revisionBefore = (await configMap()).metadata.annotations['hotdesk.io/config-revision'];

    // The phone now only listens: the NOTIFY comes to where its REGISTER came from.
    const notified = await startSipp({ scenario: 'notify.xml', port: phonePort, timeoutSeconds: 40 });
    const media = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'feature-call-auth.xml', remote: stack.edgeAddress, service: '*77*101*', keys: { caller: 'HD0001', rtp_port: media.port }, auth: { user: 'HD0001', password: 'idle-Secret-Pw1' }, timeoutSeconds: 40 });
      // The PIN prompt: G.711 µ-law, 160 bytes every 20 ms.
      await media.waitForPackets(25);
      const prompt = media.received.slice(0, 25);
      assert.ok(prompt.every((p) => p.payloadType === 0), `payload types ${[...new Set(prompt.map((p) => p.payloadType))]}`);
      assert.ok(prompt.every((p) => p.payloadBytes === 160));
      for (let i = 1; i < prompt.length; i++) {
        assert.equal((prompt[i]!.timestamp - prompt[i - 1]!.timestamp) >>> 0, 160, 'RTP timestamps advance by 160 samples per packet');
        assert.equal((prompt[i]!.sequenceNumber - prompt[i - 1]!.sequenceNumber) & 0xffff, 1);
      }
      const spanMs = prompt[24]!.at - prompt[0]!.at;
      assert.ok(spanMs > 24 * 20 * 0.6 && spanMs < 24 * 20 * 3, `25 packets took ${spanMs.toFixed(0)} ms, expected about 480 ms`);
      await media.press(`${ALICE.pin}#`);
      const callResult = await expectPassed(call, 'login call');
      assert.match(callResult.messages, /SIP\/2\.0 407 Proxy Authentication Required[\s\S]*Proxy-Authenticate: Digest realm="127\.0\.0\.1"/, 'the unproven flow was challenged');
      assert.match(callResult.messages, /BYE sip:HD0001@/, 'the edge hung up after the confirmation');
    } finally {
      await media.close();
    }

    const session = await eventually('alice session Active', async () => {
      const list = await stack.getJson<any>('hotdesksessions');
      return list?.items.find((s: any) => s.spec.user === 'alice' && s.spec.device === 'desk-1' && s.status?.phase === 'Active');
    });
    assert.equal(session.spec.origin, 'featureCode');
    const occupied = await eventually('occupied configuration', async () => {
      const cm = await configMap();
      return cm && cm.metadata.annotations['hotdesk.io/config-revision'] !== revisionBefore ? cm : undefined;
    });
    const config = Object.values(occupied.data as Record<string, string>).join('\n');
    assert.match(config, /account\.1\.user_name = 101/);
    assert.doesNotMatch(config, /alice-Secret-Pw1/, 'the SIP password is injected at serving time, not stored');

    const notify = await expectPassed(notified, 'check-sync NOTIFY');
    assert.match(notify.messages, /NOTIFY sip:HD0001@127\.0\.0\.1:\d+/);
    assert.match(notify.messages, /Event: check-sync;reboot=false/i);
    const resync = await eventually('lastResync acknowledged', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.lastResync?.acknowledgedAt);
    assert.ok(!Number.isNaN(Date.parse(resync)));

    // The phone fetches its new file (HTTP Digest as its MAC) and re-registers as alice's extension.
    const file = await fetchProvisioning(stack, '00156500a001.cfg', '00156500a001:prov-idle-Secret-Pw1');
    assert.match(file, /account\.1\.user_name = 101/);
    assert.match(file, /alice-Secret-Pw1/, 'the SIP password is filled in when the file is served');
    // A wrong password looks the same as an unknown MAC (404), so scanners learn nothing.
    await assert.rejects(fetchProvisioning(stack, '00156500a001.cfg', '00156500a001:wrong'), /answered 404/);
    await register(phonePort, ALICE.extension);
    await eventually('registration as 101', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration?.identity === '101');

    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 1);
    assert.equal(metricValue(metrics, 'hotdesk_login_duration_seconds_count'), 1);
    assert.equal(metricValue(metrics, 'hotdesk_login_reregister_seconds_count'), 1);
    assert.equal(metricValue(metrics, 'hotdesk_resync_notifies_total', { result: 'acknowledged' }), 1);
    assert.equal(metricValue(metrics, 'provisioning_requests_total', { result: 'served' }), 1);

    // Logout from the extension: the session ends as "logout" and the phone is told to re-sync again.
    const notifiedAgain = await startSipp({ scenario: 'notify.xml', port: phonePort, timeoutSeconds: 40 });
    const logoutMedia = await RtpPhone.open();
    try {
      // Alice's own SIP password answers the challenge for her extension.
      const logout = await startSipp({ scenario: 'feature-call-auth.xml', remote: stack.edgeAddress, service: '*77*5*', keys: { caller: ALICE.extension, rtp_port: logoutMedia.port }, auth: { user: ALICE.extension, password: 'alice-Secret-Pw1' }, timeoutSeconds: 30 });
      await expectPassed(logout, 'logout call');
      assert.ok(logoutMedia.received.length > 0, 'the logout confirmation was played');
    } finally {
      await logoutMedia.close();
    }
    const ended = await eventually('session ended', async () => {
      const s = await stack.getJson<any>('hotdesksession', session.metadata.name);
      return s?.status?.phase === 'Ended' ? s : undefined;
    });
    assert.equal(ended.status.endReason, 'logout');
    const idle = await eventually('idle configuration again', async () => {
      const c = Object.values(((await configMap())?.data ?? {}) as Record<string, string>).join('\n');
      return /account\.1\.user_name = HD0001/.test(c) ? c : undefined;
    });
    assert.doesNotMatch(idle, /user_name = 101/);
    const second = await expectPassed(notifiedAgain, 'check-sync NOTIFY after logout');
    assert.match(second.messages, /NOTIFY sip:101@127\.0\.0\.1:\d+/);
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_feature_codes_total', { code: 'logout', result: 'success' }), 1);
  });

  it('records the binding the phone just registered when the PBX lists older ones too', async () => {
    // A phone that restarts comes back from a new port while its old binding has not expired:
    // the registrar's 200 lists both, and re-sync must go to the new one.
    const oldPort = await freeLoopbackPort();
    await register(oldPort, 'HD0002');
    await eventually('first binding', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-2'))?.status?.registration?.contact?.includes(`:${oldPort}`));
    const newPort = await freeLoopbackPort();
    const run = await startSipp({ scenario: 'register.xml', port: newPort, remote: stack.edgeAddress, keys: { user: 'HD0002', contact_port: newPort }, timeoutSeconds: 15 });
    const result = await expectPassed(run, 'REGISTER from the new port');
    assert.match(result.messages, new RegExp(`Contact: <sip:HD0002@127\\.0\\.0\\.1:${oldPort}`), 'the PBX lists the old binding too');
    const reg = await eventually('new binding recorded', async () => {
      const r = (await stack.getJson<any>('hotdeskdevice', 'desk-2'))?.status?.registration;
      return r?.contact?.includes(`:${newPort}`) ? r : undefined;
    }, 5_000);
    assert.equal(reg.identity, 'HD0002');
  });
});
