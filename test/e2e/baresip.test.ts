/**
 * A real softphone at the desk: baresip 1.0 registers as the idle account through the edge to
 * Kamailio, dials *77*101*, keys alice's PIN as RFC 4733 telephone-events (ctrl_tcp "sndcode"),
 * and receives the check-sync NOTIFY once the controller has rendered alice's configuration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBaresip, type Baresip } from './baresip.ts';
import { ALICE, BOB, eventually, metricValue, startStack, type Stack } from './stack.ts';

let stack: Stack;
let phone: Baresip | undefined;
let tcpPhone: Baresip | undefined;
before(async () => {
  stack = await startStack({ namespace: 'e2e-baresip' });
});
after(async () => {
  await phone?.stop();
  await tcpPhone?.stop();
  await stack?.stop();
});

describe('baresip at a hot desk', { timeout: 120_000 }, () => {
  it('registers through the edge, logs alice in with RFC 4733 DTMF and gets the check-sync NOTIFY', async () => {
    const before = (await stack.getJson<any>('configmap', 'desk-1-provisioning')).metadata.annotations['hotdesk.io/config-revision'];
    phone = await startBaresip({ user: 'HD0001', password: 'idle-Secret-Pw1', outbound: stack.edgeAddress });
    // Its first REGISTER may go out before ctrl_tcp is connected: the edge's record of it is the proof.
    const registration = await eventually('desk-1 registration', async () => {
      const reg = (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration;
      return reg?.identity === 'HD0001' ? reg : undefined;
    });
    assert.match(registration.contact, new RegExp(`@127\\.0\\.0\\.1:${phone.sipPort}`));

    assert.equal((await phone.command('dial', '*77*101*')).ok, true);
    await phone.waitForEvent('CALL_ESTABLISHED');
    // The edge's prompt is flowing: baresip saw RTP from it.
    await phone.waitForEvent('CALL_RTPESTAB');
    assert.equal((await phone.command('sndcode', `${ALICE.pin}#`)).ok, true);
    assert.match(await eventually('DTMF sent', () => (/send DTMF digit end: '#'/.test(phone!.log()) ? phone!.log() : undefined)), /send DTMF digit: '4'/);
    // The edge confirms and hangs up.
    await phone.waitForEvent('CALL_CLOSED', 20_000);
    assert.match(phone.log(), /BYE sip:HD0001-[^@]*@127\.0\.0\.1/);

    const session = await eventually('alice session Active', async () => {
      const list = await stack.getJson<any>('hotdesksessions');
      return list?.items.find((s: any) => s.spec.user === ALICE.name && s.spec.device === 'desk-1' && s.status?.phase === 'Active');
    });
    assert.equal(session.spec.origin, 'featureCode');
    const config = await eventually('alice\'s configuration', async () => {
      const cm = await stack.getJson<any>('configmap', 'desk-1-provisioning');
      return cm.metadata.annotations['hotdesk.io/config-revision'] !== before ? Object.values(cm.data as Record<string, string>).join('\n') : undefined;
    });
    assert.match(config, /account\.1\.user_name = 101/);

    // baresip 1.0 answers an unsolicited NOTIFY with 481: the edge reports the phone refused it.
    const trace = await eventually('NOTIFY at baresip', () => (/NOTIFY sip:HD0001-/.test(phone!.log()) ? phone!.log() : undefined));
    assert.match(trace, /Event: check-sync;reboot=false/i);
    const metrics = await eventually('re-sync counted', async () => {
      const text = await stack.metrics();
      return metricValue(text, 'hotdesk_resync_notifies_total', { result: 'refused' }) === 1 ? text : undefined;
    });
    assert.equal(metricValue(metrics, 'hotdesk_resync_notifies_total', { result: 'failed' }), 0, 'a refusal is an answer, not a failure');
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 1);
    const resync = await eventually('lastResync recorded', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.lastResync);
    assert.ok(resync.sentAt);
    assert.equal(resync.acknowledgedAt ?? null, null);
  });

  it('does the same over TCP: the NOTIFY comes back on the phone\'s connection', async () => {
    tcpPhone = await startBaresip({ user: 'HD0002', password: 'idle-Secret-Pw2', outbound: stack.edgeAddress, transport: 'tcp' });
    await eventually('desk-2 registration', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-2'))?.status?.registration?.identity === 'HD0002');
    assert.match(tcpPhone.log(), /REGISTER sip:127\.0\.0\.1;transport=tcp SIP\/2\.0|Via: SIP\/2\.0\/TCP/);
    assert.equal((await tcpPhone.command('dial', `*77*${BOB.extension}*`)).ok, true);
    await tcpPhone.waitForEvent('CALL_RTPESTAB');
    assert.equal((await tcpPhone.command('sndcode', `${BOB.pin}#`)).ok, true);
    await tcpPhone.waitForEvent('CALL_CLOSED', 20_000);
    await eventually('bob session Active', async () => {
      const list = await stack.getJson<any>('hotdesksessions');
      return list?.items.find((s: any) => s.spec.user === BOB.name && s.spec.device === 'desk-2' && s.status?.phase === 'Active');
    });
    const trace = await eventually('NOTIFY at the TCP phone', () => (/NOTIFY sip:HD0002-/.test(tcpPhone!.log()) ? tcpPhone!.log() : undefined), 15_000);
    assert.match(trace, /TCP 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\s+NOTIFY/);
    await eventually('second re-sync answered', async () => metricValue(await stack.metrics(), 'hotdesk_resync_notifies_total', { result: 'refused' }) === 2);
  });
});
