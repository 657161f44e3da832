/**
 * Hostile callers at the login IVR, through two edge replicas of one pool with SIPp and test RTP
 * sockets: parallel PIN guessing gets exactly the pool's attempts and one lockout, and an INVITE
 * that names someone else's media address (never ACKed, or ACKed without sending RTP) makes the
 * edge send that address nothing.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startEdge, type Edge } from '../../src/edge/edge.ts';
import { freeLoopbackPort } from '../support/ports.ts';
import { RtpPhone } from './rtp-phone.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { ALICE, BOB, eventually, metricValue, POOL, startStack, type Stack } from './stack.ts';

const MAX_ATTEMPTS = 3;

let stack: Stack;
let replica: Edge;
before(async () => {
  stack = await startStack({ namespace: 'e2e-hostile-pin', maxAttempts: MAX_ATTEMPTS });
  replica = await startEdge({
    kubeConfig: stack.cp.kubeConfig,
    namespace: stack.ns,
    pool: POOL,
    host: '127.0.0.1',
    sipPort: await freeLoopbackPort(),
    httpPort: 0,
    metricsPort: 0,
    sipTimers: { t1: 200 },
    provisioningWorkers: 0,
    // One IVR call at a time on this replica, so that its cap shows.
    ivrCallLimits: { perSource: 8, perPool: 1 },
  });
});
after(async () => {
  await replica?.stop();
  await stack?.stop();
});

async function replicaMetrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${replica.metricsPort}/metrics`)).text();
}

/** A metric summed over both replicas. */
async function total(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await stack.metrics(), name, labels) + metricValue(await replicaMetrics(), name, labels);
}

/** A phone registers `user` through the edge from a port, and calls from that port: a registered flow. */
async function registeredPort(user: string, edgeAddress = stack.edgeAddress): Promise<number> {
  const port = await freeLoopbackPort();
  const run = await startSipp({ scenario: 'register.xml', port, remote: edgeAddress, keys: { user, contact_port: port }, timeoutSeconds: 15 });
  await expectPassed(run, `REGISTER as ${user}`);
  return port;
}

async function pinLockoutEvents(name: string): Promise<any[]> {
  const r = await stack.cp.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=PinLockout`, '-o', 'json'], { namespace: stack.ns });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

describe('hostile callers at the login IVR', { timeout: 240_000 }, () => {
  it('an INVITE that is never ACKed gets no RTP, even from a media address that talks to the edge, and no BYE', async () => {
    const abandonedBefore = await total('hotdesk_feature_codes_total', { code: 'login', result: 'abandoned' });
    const target = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'unacked-call.xml', port: await registeredPort('HD0001'), remote: stack.edgeAddress, service: `*77*${ALICE.extension}*`, keys: { caller: 'HD0001', rtp_port: target.port }, timeoutSeconds: 40 });
      assert.equal(await target.answered(), true, 'the answer reached the media socket, which now sends RTP to the edge');
      // The edge gives up on the ACK after 64*T1 (12.8 s here), without a BYE to the Contact.
      const result = await expectPassed(call, 'un-ACKed call');
      assert.doesNotMatch(result.messages, /^BYE /m);
      await sleep(1_000);
      assert.equal(target.received.length, 0, `the edge sent ${target.received.length} RTP packets for a call that was never confirmed`);
    } finally {
      await target.close();
    }
    await eventually('the call counted as abandoned', async () => (await total('hotdesk_feature_codes_total', { code: 'login', result: 'abandoned' })) === abandonedBefore + 1);
    assert.equal(await total('hotdesk_pin_failures_total'), 0);
  });

  it('an ACKed call whose SDP names an address that sends no RTP gets no RTP there', async () => {
    const victim = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'foreign-media-call.xml', port: await registeredPort('HD0002'), remote: stack.edgeAddress, service: `*77*${ALICE.extension}*`, keys: { caller: 'HD0002', victim_port: victim.port }, timeoutSeconds: 30 });
      await expectPassed(call, 'call naming a foreign media address');
      await sleep(500);
      assert.equal(victim.received.length, 0, `the edge sent ${victim.received.length} RTP packets to an address that never sent any`);
    } finally {
      await victim.close();
    }
  });

  it("a call beyond the pool's cap of IVR calls gets 503 with Retry-After", async () => {
    const replicaAddress = `127.0.0.1:${replica.sipPort}`;
    const holder = await RtpPhone.open();
    const caller = await RtpPhone.open();
    try {
      // An un-ACKed call holds the replica's only IVR slot for 64*T1.
      const first = await startSipp({ scenario: 'unacked-call.xml', port: await registeredPort('HD0001', replicaAddress), remote: replicaAddress, service: `*77*${ALICE.extension}*`, keys: { caller: 'HD0001', rtp_port: holder.port }, timeoutSeconds: 40 });
      assert.equal(await holder.answered(), true);
      const second = await startSipp({ scenario: 'guessing-call.xml', remote: replicaAddress, service: `*77*${ALICE.extension}*`, keys: { caller: 'HD0002', rtp_port: caller.port }, timeoutSeconds: 20 });
      const refused = await expectPassed(second, 'call beyond the cap');
      assert.match(refused.messages, /SIP\/2\.0 503 /);
      assert.match(refused.messages, /Retry-After: 10/i);
      await expectPassed(first, 'the call holding the slot');
      assert.equal(holder.received.length + caller.received.length, 0);
    } finally {
      await holder.close();
      await caller.close();
    }
  });

  it(`8 parallel guessing calls over two replicas and two desks check exactly ${MAX_ATTEMPTS} PINs and start one lockout`, async (t) => {
    const edges = [stack.edgeAddress, `127.0.0.1:${replica.sipPort}`];
    const busyBefore = await total('hotdesk_feature_codes_total', { code: 'login', result: 'busy' });
    const outcomes = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const media = await RtpPhone.open();
      try {
        const call = await startSipp({
          scenario: 'guessing-call.xml',
          remote: edges[i % 2]!,
          service: `*77*${BOB.extension}*`,
          keys: { caller: i % 4 < 2 ? 'HD0001' : 'HD0002', rtp_port: media.port },
          timeoutSeconds: 120,
        });
        const answered = await Promise.race([media.answered(100_000), call.done.then(() => false)]);
        // Four wrong PINs keyed at once, as fast as a script can.
        if (answered) await media.waitForPackets(3).then(() => media.press('1111#2222#3333#4444#'));
        const result = await expectPassed(call, `guessing call ${i}`);
        return { answered, refused: /SIP\/2\.0 (486|503) /.test(result.messages) };
      } finally {
        await media.close();
      }
    }));
    const answered = outcomes.filter((o) => o.answered).length;
    const refused = outcomes.filter((o) => o.refused).length;
    t.diagnostic(`${answered} calls reached the PIN prompt, ${refused} were refused as busy`);
    assert.ok(answered >= 1, 'some call got to the PIN prompt');
    assert.equal(answered + refused, 8, 'every call was either answered or refused as busy');

    const user = await eventually('bob locked', async () => {
      const u = await stack.getJson<any>('hotdeskuser', BOB.name);
      return u?.status?.lockedUntil ? u : undefined;
    });
    assert.equal(user.status.failedPinAttempts, MAX_ATTEMPTS);
    assert.ok(Date.parse(user.status.lockedUntil) > Date.now() + 10 * 60_000);
    await eventually('every answered call finished', async () => (await total('hotdesk_feature_codes_total', { code: 'login', result: 'locked_out' })) === answered);
    assert.equal(await total('hotdesk_pin_failures_total'), MAX_ATTEMPTS, 'PINs checked over both replicas');
    assert.equal(await total('hotdesk_lockouts_total'), 1, 'one lockout, however many calls saw it');
    assert.equal(await total('hotdesk_feature_codes_total', { code: 'login', result: 'busy' }), busyBefore + refused);

    const userEvents = await eventually('PinLockout Event on bob', async () => {
      const events = await pinLockoutEvents(BOB.name);
      return events.length > 0 ? events : undefined;
    });
    assert.equal(userEvents.length, 1);
    assert.equal(userEvents[0].type, 'Warning');
    const deskEvents = [...(await pinLockoutEvents('desk-1')), ...(await pinLockoutEvents('desk-2'))];
    assert.equal(deskEvents.length, 1, 'the desk of the last wrong PIN');
    const lockedDesk = deskEvents[0].involvedObject.name;
    const desk = await stack.getJson<any>('hotdeskdevice', lockedDesk);
    assert.equal(desk.status.lockedUntil, user.status.lockedUntil);
  });
});
