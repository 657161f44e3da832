/**
 * Wrong PINs at the login prompt, through the edge with SIPp phones: after the pool's maxAttempts
 * (2 here) the user and the desk are locked and even the right PIN is refused; and a phone that
 * sends its keys as SIP INFO (dtmf-relay) instead of RFC 4733 can still log in. The desk phones
 * register through the edge first and call from the registered port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RtpPhone } from './rtp-phone.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { ALICE, BOB, eventually, metricValue, registerThroughEdge, startStack, type Stack } from './stack.ts';

let stack: Stack;
/** SIP port of each desk's phone, registered as its idle account. */
const deskPort: Record<string, number> = {};
before(async () => {
  stack = await startStack({ namespace: 'e2e-lockout', maxAttempts: 2 });
  deskPort['HD0001'] = await registerThroughEdge(stack, 'HD0001');
  deskPort['HD0002'] = await registerThroughEdge(stack, 'HD0002');
});
after(async () => {
  await stack?.stop();
});

/** Dials *77*<ext>* from an idle desk, presses `keys` once the PIN prompt plays, waits for the edge's BYE. */
async function loginCall(idleAccount: string, extension: string, keys: string): Promise<RtpPhone> {
  const media = await RtpPhone.open();
  try {
    const call = await startSipp({ scenario: 'feature-call.xml', port: deskPort[idleAccount]!, remote: stack.edgeAddress, service: `*77*${extension}*`, keys: { caller: idleAccount, rtp_port: media.port }, timeoutSeconds: 45 });
    await media.waitForPackets(5);
    await media.press(keys);
    await expectPassed(call, `login call for ${extension}`);
  } finally {
    await media.close();
  }
  return media;
}

async function sessionsOf(user: string): Promise<any[]> {
  return ((await stack.getJson<any>('hotdesksessions'))?.items ?? []).filter((s: any) => s.spec.user === user);
}

describe('PIN lockout and SIP INFO DTMF through the edge', { timeout: 150_000 }, () => {
  it('locks bob and the desk after two wrong PINs; the right PIN is then refused', async () => {
    // Both wrong PINs keyed at once: the second is type-ahead during the "wrong PIN" prompt.
    await loginCall('HD0001', BOB.extension, '1111#2222#');
    const user = await eventually('bob locked', async () => {
      const u = await stack.getJson<any>('hotdeskuser', BOB.name);
      return u?.status?.lockedUntil ? u : undefined;
    });
    assert.ok(Date.parse(user.status.lockedUntil) > Date.now() + 10 * 60_000, `locked until ${user.status.lockedUntil} (15m lockout)`);
    assert.equal(user.status.failedPinAttempts, 2);
    const device = await eventually('desk-1 locked', async () => {
      const d = await stack.getJson<any>('hotdeskdevice', 'desk-1');
      return d?.status?.lockedUntil ? d : undefined;
    });
    assert.ok(Date.parse(device.status.lockedUntil) > Date.now());
    let metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_pin_failures_total'), 2);
    assert.equal(metricValue(metrics, 'hotdesk_lockouts_total'), 1);
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'locked_out' }), 1);
    for (const [kind, name] of [['HotDeskUser', BOB.name], ['HotDeskDevice', 'desk-1']] as const) {
      const events = await eventually(`PinLockout Event on ${name}`, async () => {
        const r = await stack.cp.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=PinLockout`, '-o', 'json'], { namespace: stack.ns });
        const items = r.code === 0 ? JSON.parse(r.stdout).items : [];
        return items.length > 0 ? items : undefined;
      });
      assert.deepEqual(events.map((e: any) => [e.type, e.involvedObject.kind]), [['Warning', kind]]);
    }

    await loginCall('HD0001', BOB.extension, `${BOB.pin}#`);
    metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'locked_out' }), 2);
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 0);
    assert.equal(metricValue(metrics, 'hotdesk_pin_failures_total'), 2, 'a locked user is not asked for a PIN at all');
    assert.deepEqual(await sessionsOf(BOB.name), []);
  });

  it('logs alice in at desk-2 with the PIN sent as SIP INFO dtmf-relay', async () => {
    const media = await RtpPhone.open();
    try {
      const [p1, p2, p3, p4] = ALICE.pin;
      const call = await startSipp({
        scenario: 'info-dtmf-call.xml',
        port: deskPort['HD0002']!,
        remote: stack.edgeAddress,
        service: `*77*${ALICE.extension}*`,
        keys: { caller: 'HD0002', rtp_port: media.port, p1: p1!, p2: p2!, p3: p3!, p4: p4! },
        timeoutSeconds: 45,
      });
      const result = await expectPassed(call, 'INFO login call');
      assert.doesNotMatch(result.messages, /telephone-event/, 'the edge answered without RFC 4733, as offered');
      assert.ok(media.received.some((p) => p.payloadType === 0), 'prompts were played');
    } finally {
      await media.close();
    }
    const session = await eventually('alice Active at desk-2', async () => (await sessionsOf(ALICE.name)).find((s) => s.spec.device === 'desk-2' && s.status?.phase === 'Active'));
    assert.equal(session.spec.origin, 'featureCode');
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'success' }), 1);
  });

  it('treats a caller hanging up during the PIN prompt as abandoned: no PIN failure, the prompt stops', async () => {
    const media = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'feature-call-hangup.xml', port: deskPort['HD0002']!, remote: stack.edgeAddress, service: `*77*${BOB.extension}*`, keys: { caller: 'HD0002', rtp_port: media.port }, timeoutSeconds: 30 });
      const result = await expectPassed(call, 'hang-up call');
      assert.doesNotMatch(result.messages, /BYE sip:HD0002/, 'the edge does not hang up a call that is already over');
      await eventually('abandoned counted', async () => metricValue(await stack.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'abandoned' }) === 1);
      const heard = media.received.length;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(media.received.length, heard, 'no RTP after the hang-up');
    } finally {
      await media.close();
    }
    assert.equal(metricValue(await stack.metrics(), 'hotdesk_pin_failures_total'), 2, 'only the two wrong PINs of the lockout test');
  });
});
