/**
 * What a second softphone (Linphone) found at the login IVR, with SIPp phones through the edge: a
 * hold re-INVITE during a feature-code call is answered (not 501), and a phone set to mandatory
 * SRTP is told why it cannot use the IVR. The edge binds every address and advertises another
 * (127.0.0.2, as a load balancer's address would be), with its RTP in a pool's port range: the
 * phone's in-dialog requests and RTP go only where the edge said.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RtpPhone } from './rtp-phone.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { BOB, eventually, metricValue, registerThroughEdge, startStack, type Stack } from './stack.ts';

const ADVERTISED = '127.0.0.2';
const RTP_RANGE = { min: 41000, max: 41062 };

let stack: Stack;
/** Each desk's SIPp port: its calls come on the flow its REGISTER (through the edge) proved. */
const deskPort: Record<string, number> = {};
before(async () => {
  stack = await startStack({ namespace: 'e2e-ivr-interop', edgeHost: '0.0.0.0', advertisedHost: ADVERTISED, rtpPortRange: RTP_RANGE });
  deskPort['HD0001'] = await registerThroughEdge(stack, 'HD0001');
  deskPort['HD0002'] = await registerThroughEdge(stack, 'HD0002');
});
after(async () => {
  await stack?.stop();
});

/** The messages SIPp received, from its -trace_msg log ("UDP message received [n] bytes :"). */
function received(log: string): string[] {
  const parts = log.split(/^.*message (received|sent).*$/m);
  const out: string[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) if (parts[i] === 'received') out.push(parts[i + 1]!.trim());
  return out;
}

describe('feature-code calls from phones that hold and that insist on SRTP', { timeout: 120_000 }, () => {
  it('answers a hold re-INVITE with 200 on the same advertised RTP port, and the call ends normally', async () => {
    const media = await RtpPhone.open();
    try {
      const call = await startSipp({ scenario: 'feature-call-hold.xml', port: deskPort['HD0002']!, remote: stack.edgeAddress, service: `*77*${BOB.extension}*`, keys: { caller: 'HD0002', rtp_port: media.port }, timeoutSeconds: 30 });
      const result = await expectPassed(call, 'hold call');
      const answers = received(result.messages).filter((m) => m.startsWith('SIP/2.0 200') && /CSeq:\s*\d+ INVITE/i.test(m));
      assert.equal(answers.length >= 2, true, `two 200s to INVITEs, got ${answers.length}:\n${result.messages.slice(-4000)}`);
      const [first, hold] = [answers[0]!, answers[answers.length - 1]!];
      assert.match(first, new RegExp(`Contact:\\s*<sip:edge@${ADVERTISED.replace(/\./g, '\\.')}:\\d+`, 'i'), 'the Contact names the advertised address');
      assert.match(first, new RegExp(`c=IN IP4 ${ADVERTISED.replace(/\./g, '\\.')}`), 'the SDP names the advertised address');
      const port = Number(/m=audio (\d+)/.exec(first)?.[1]);
      assert.ok(port >= RTP_RANGE.min && port <= RTP_RANGE.max && port % 2 === 0, `RTP port ${port} is an even port of the pool's range`);
      assert.equal(Number(/m=audio (\d+)/.exec(hold)?.[1]), port, 'the hold answer keeps the RTP port');
      assert.match(hold, /a=recvonly/, 'a sendonly offer is answered recvonly (RFC 3264)');
      assert.match(result.messages, new RegExp(`BYE sip:edge@${ADVERTISED.replace(/\./g, '\\.')}:`), 'in-dialog requests go to the advertised address');
      assert.doesNotMatch(result.messages, /SIP\/2\.0 501/);
      await eventually('the call counted as abandoned', async () => metricValue(await stack.metrics(), 'hotdesk_feature_codes_total', { code: 'login', result: 'abandoned' }) === 1);
    } finally {
      await media.close();
    }
  });

  it('refuses an SRTP-only offer with 488 and a Warning, counted as srtp_required and not as an error', async () => {
    const call = await startSipp({ scenario: 'feature-call-srtp.xml', port: deskPort['HD0001']!, remote: stack.edgeAddress, service: `*77*${BOB.extension}*`, keys: { caller: 'HD0001', rtp_port: 40000 }, timeoutSeconds: 20 });
    const result = await expectPassed(call, 'SRTP call');
    assert.match(result.messages, /Warning:\s*399 127\.0\.0\.2 "SRTP needs SIP over TLS/i);
    const metrics = await stack.metrics();
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'srtp_required' }), 1);
    assert.equal(metricValue(metrics, 'hotdesk_feature_codes_total', { code: 'login', result: 'error' }), 0);
  });
});
