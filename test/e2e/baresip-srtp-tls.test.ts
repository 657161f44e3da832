/**
 * A desk phone set to mandatory SRTP: baresip 1.0 registers over TLS through the edge, is rung by
 * a caller on the PBX (the INVITE and the caller's BYE reach it on its TLS connection), dials the
 * login code, hears the prompt (SRTP it decrypts under the edge's a=crypto key) and keys alice's
 * PIN as RFC 4733 events inside SRTP; the session is created and the check-sync NOTIFY, like the
 * edge's BYE, comes back over the phone's TLS connection. The same phone on UDP gets 488 with a
 * Warning that says SRTP needs SIP over TLS, and on which port.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBaresip, type Baresip } from './baresip.ts';
import { ALICE, eventually, metricValue, startStack, type Stack } from './stack.ts';
import { selfSignedCertificate } from './tls-certificate.ts';

let stack: Stack;
let deskPhone: Baresip;
let certDir: string;
let cafile: string;
const phones: Baresip[] = [];
before(async () => {
  const certificate = await selfSignedCertificate('127.0.0.1');
  certDir = await mkdtemp(join(tmpdir(), 'hotdesk-srtp-'));
  cafile = join(certDir, 'edge-ca.pem');
  await writeFile(cafile, certificate.cert);
  stack = await startStack({ namespace: 'e2e-srtp-tls', edgeTls: certificate });
});
after(async () => {
  for (const phone of phones) await phone.stop();
  await stack?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('a phone with mandatory SRTP at a hot desk', { timeout: 120_000 }, () => {
  it('registers over TLS and is rung on its TLS connection by a caller on the PBX', async () => {
    const tlsPort = stack.edge.tlsPort!;
    deskPhone = await startBaresip({ user: 'HD0001', password: 'idle-Secret-Pw1', outbound: `127.0.0.1:${tlsPort}`, transport: 'tls', mediaenc: 'srtp-mand', cafile, autoAnswer: true });
    phones.push(deskPhone);
    await eventually('desk-1 registration', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-1'))?.status?.registration?.identity === 'HD0001');
    assert.match(deskPhone.log(), /REGISTER sip:127\.0\.0\.1;transport=tls SIP\/2\.0|Via: SIP\/2\.0\/TLS/);
    const device = await stack.getJson<any>('hotdeskdevice', 'desk-1');
    assert.match(device.status.registration.contact, /transport=tls/);

    // A colleague registered on the PBX itself calls the desk's idle account.
    const caller = await startBaresip({ user: '200', password: 'caller-pw', outbound: `127.0.0.1:${stack.kamailio.port}`, direct: true, mediaenc: 'srtp-mand' });
    phones.push(caller);
    await eventually('the caller registered on the PBX', () => /SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ REGISTER/.test(caller.log()));
    assert.equal((await caller.command('dial', `sip:HD0001@127.0.0.1:${stack.kamailio.port}`)).ok, true);
    await caller.waitForEvent('CALL_ESTABLISHED', 20_000);
    await deskPhone.waitForEvent('CALL_ESTABLISHED');
    const ringing = deskPhone.log();
    // The edge delivered the INVITE on the phone's TLS connection, Record-Routing its TLS face for the phone.
    assert.match(ringing, new RegExp(`TLS 127\\.0\\.0\\.1:${tlsPort} -> 127\\.0\\.0\\.1:\\d+\\s+INVITE sip:HD0001-`));
    assert.match(ringing, new RegExp(`Record-Route: <sip:[^@>]+@127\\.0\\.0\\.1:${tlsPort};transport=tls;lr>`));
    const sent = deskPhone.events.length;
    assert.equal((await caller.command('hangup')).ok, true);
    await deskPhone.waitForEvent('CALL_CLOSED', 15_000, sent);
    assert.match(deskPhone.log(), new RegExp(`TLS 127\\.0\\.0\\.1:${tlsPort} -> 127\\.0\\.0\\.1:\\d+\\s+BYE sip:HD0001-`));
  });

  it('logs alice in with DTMF inside SRTP, and gets BYE and NOTIFY on its TLS connection', async () => {
    const tlsPort = stack.edge.tlsPort!;
    const phone = deskPhone;

    // Events of the call before this one do not count.
    const from = phone.events.length;
    const logFrom = phone.log().length;
    assert.equal((await phone.command('dial', `*77*${ALICE.extension}*`)).ok, true);
    await phone.waitForEvent('CALL_ESTABLISHED', 15_000, from);
    const log = phone.log().slice(logFrom);
    // The edge answered RTP/SAVP with its own key, and its Contact and Record-Route name its TLS face.
    assert.match(log, /m=audio \d+ RTP\/SAVP 0 101\r?\n(a=[^\r\n]*\r?\n)*a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:[A-Za-z0-9+/=]{40}/);
    assert.match(log, new RegExp(`Contact: <sip:edge@127\\.0\\.0\\.1:${tlsPort};transport=tls>`));
    assert.match(log, /srtp: .*SRTP is Enabled/i);
    // baresip saw RTP it could decrypt: undecryptable packets never reach its RTP layer.
    await phone.waitForEvent('CALL_RTPESTAB', 15_000, from);
    assert.doesNotMatch(phone.log().slice(logFrom), /srtp: failed to decrypt RTP/);

    assert.equal((await phone.command('sndcode', `${ALICE.pin}#`)).ok, true);
    await phone.waitForEvent('CALL_CLOSED', 20_000, from);
    // The edge hung up, over TLS, from its TLS port.
    assert.match(phone.log().slice(logFrom), new RegExp(`TLS 127\\.0\\.0\\.1:${tlsPort} -> 127\\.0\\.0\\.1:\\d+\\s+BYE sip:HD0001-`));

    const session = await eventually('alice session Active', async () => {
      const list = await stack.getJson<any>('hotdesksessions');
      return list?.items.find((s: any) => s.spec.user === ALICE.name && s.spec.device === 'desk-1' && s.status?.phase === 'Active');
    });
    assert.equal(session.spec.origin, 'featureCode');

    // The check-sync for alice's configuration goes back on the same TLS connection.
    await eventually('NOTIFY over TLS', () => new RegExp(`TLS 127\\.0\\.0\\.1:${tlsPort} -> 127\\.0\\.0\\.1:\\d+\\s+NOTIFY sip:HD0001-`).test(phone.log()), 20_000);
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 1);
  });

  it('over UDP the same phone gets 488 and a Warning saying SRTP needs SIP over TLS', async () => {
    const phone = await startBaresip({ user: 'HD0002', password: 'idle-Secret-Pw2', outbound: stack.edgeAddress, mediaenc: 'srtp-mand' });
    phones.push(phone);
    await eventually('desk-2 registration', async () => (await stack.getJson<any>('hotdeskdevice', 'desk-2'))?.status?.registration?.identity === 'HD0002');
    assert.equal((await phone.command('dial', `*77*${ALICE.extension}*`)).ok, true);
    const closed = await phone.waitForEvent('CALL_CLOSED', 20_000);
    assert.match(String(closed.param), /488/);
    assert.match(phone.log(), new RegExp(`Warning: 399 127\\.0\\.0\\.1 "SRTP needs SIP over TLS: register the phone over TLS \\(port ${stack.edge.tlsPort}\\), or set its SRTP to optional"`));
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'srtp_required' }), 1);
  });
});
