import type { HotDeskPool } from '../api/index.ts';
import { GROUP_VERSION } from '../api/group.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_LOGOUT_REQUESTED, LABEL_POOL } from '../api/labels.ts';
import { parseDtmfInfo } from '../media/dtmf-info.ts';
import { IvrSession, IvrSessionClosedError } from '../media/ivr-session.ts';
import { answerOffer, type SrtpRefusal } from '../media/sdp.ts';
import type { PromptSet } from '../media/prompts.ts';
import type { RtpPortSource } from '../media/rtp-session.ts';
import { parseDuration } from '../policy/duration.ts';
import { verifyPin } from '../policy/pin.ts';
import { collectionPath, type KubeClient } from '../runtime/index.ts';
import type { SipProxy } from '../sip/proxy.ts';
import type { IncomingRequest, ServerResponse } from '../sip/request-context.ts';
import { answer, type UasDialog } from '../sip/uas.ts';
import type { Logger } from '../log.ts';
import type { DialDecision } from './dial-decision.ts';
import type { EdgeMetrics, FeatureResult } from './edge-metrics.ts';
import type { GateRefusal, IvrCallGate, IvrCallTicket } from './ivr-call-gate.ts';
import type { LoginTracker } from './login-tracker.ts';
import type { PinAttempts } from './pin-attempts.ts';
import type { CallerDesk, PoolView, Session, User } from './pool-view.ts';
import type { SecretReader } from './secret-reader.ts';
import type { EdgeStatusWriter } from './status-writer.ts';

export interface FeatureCallDeps {
  proxy: SipProxy;
  view: PoolView;
  client: KubeClient;
  secrets: SecretReader;
  status: EdgeStatusWriter;
  prompts: PromptSet;
  metrics: EdgeMetrics;
  logins: LoginTracker;
  logger: Logger;
  /** The PIN attempt counter and locks, in the API. */
  attempts: PinAttempts;
  /** Which feature-code calls may run now (per source, pool, desk, user). */
  gate: IvrCallGate;
  /** Where the RTP socket binds, and the address written into our SDP. */
  rtpHost: string;
  mediaAddress: string;
  /** The RTP ports the edge Service exposes; absent: any free port (loopback tests, the demo). */
  rtpPortRange?: { min: number; max: number };
  /** The range's ports, bound by this pod at start (rtp-port-pool.ts): a call borrows one. Wins over rtpPortRange. */
  rtpPorts?: RtpPortSource;
  /** How long to wait for the controller to admit a new session before telling the caller. */
  admissionTimeoutMs?: number;
}

const DIGIT_TIMEOUTS = { interDigitTimeoutMs: 5_000, firstDigitTimeoutMs: 10_000, overallTimeoutMs: 30_000 };
/** Empty entries (silence) do not count as wrong PINs; after this many the call ends. */
const MAX_EMPTY_ENTRIES = 2;
/** After the ACK, how long the first prompt waits for the phone's first RTP packet (where it goes). */
const CALLER_MEDIA_WAIT_MS = 1_000;
/** How long a login on the last attempt waits to see its own lock lifted before asking for a session. */
const LOCK_LIFT_VISIBLE_MS = 2_000;
const POOL_BUSY_RETRY_AFTER_S = 10;

/**
 * Answers a login or logout feature code: voice prompts, PIN by RFC 4733 or SIP INFO DTMF, PIN
 * attempts counted in the API before each check and locked after the pool's number of wrong PINs,
 * and the session written through the API. Nothing is played before the caller's ACK, and only
 * to where its RTP comes from. A caller on TLS may use SDES-SRTP; over UDP or TCP an SRTP-only
 * offer gets 488 with a Warning saying why.
 */
export async function handleFeatureCall(deps: FeatureCallDeps, req: IncomingRequest, res: ServerResponse, desk: CallerDesk, decision: Extract<DialDecision, { action: 'login' | 'logout' }>): Promise<void> {
  const code = decision.action;
  const pool = deps.view.pool();
  if (!pool) {
    res.send(503, { reason: 'Hot desk pool not configured' });
    return;
  }
  const device = desk.device.metadata.name ?? '';
  const ticket = deps.gate.enter(req.source.address, device);
  if (typeof ticket === 'string') {
    refuseBusy(deps, req, res, code, ticket);
    return;
  }
  try {
    // With the extension dialled, a second PIN entry for the same user is refused before answering.
    const dialledUser = code === 'login' && decision.extension ? deps.view.userByExtension(decision.extension) : undefined;
    if (dialledUser && !ticket.claimUser(dialledUser.metadata.name ?? '')) {
      refuseBusy(deps, req, res, code, 'user-busy');
      return;
    }
    await answerFeatureCall(deps, req, res, desk, decision, pool, ticket);
  } finally {
    ticket.release();
  }
}

function refuseBusy(deps: FeatureCallDeps, req: IncomingRequest, res: ServerResponse, code: 'login' | 'logout', why: GateRefusal | 'user-busy'): void {
  if (why === 'pool-busy') res.send(503, { reason: 'Too many login calls', headers: [['retry-after', String(POOL_BUSY_RETRY_AFTER_S)]] });
  else res.send(486, { reason: 'Busy Here' });
  deps.metrics.featureCodes.inc({ code, result: 'busy' });
  deps.logger.info({ callId: req.callId, source: req.source.address, why }, 'feature code call refused: busy');
}

async function answerFeatureCall(
  deps: FeatureCallDeps,
  req: IncomingRequest,
  res: ServerResponse,
  desk: CallerDesk,
  decision: Extract<DialDecision, { action: 'login' | 'logout' }>,
  pool: HotDeskPool,
  ticket: IvrCallTicket,
): Promise<void> {
  const code = decision.action;
  const sessionId = Date.now();
  let sessionVersion = 1;
  let opened: Awaited<ReturnType<typeof IvrSession.answer>>;
  try {
    opened = await IvrSession.answer(req.message.body.toString('utf8'), {
      localHost: deps.rtpHost,
      advertisedAddress: deps.mediaAddress,
      ...(deps.rtpPortRange ? { portRange: deps.rtpPortRange } : {}),
      ...(deps.rtpPorts ? { ports: deps.rtpPorts } : {}),
      // The phone's RTP comes through the same NAT as its INVITE: only that address may latch.
      signallingAddress: req.source.address,
      sessionId,
      sessionVersion,
      prompts: deps.prompts,
      // SDES keys travel in the SDP: only a phone on TLS may send them.
      sdes: req.source.transport === 'tls',
    });
  } catch (err) {
    // Every RTP port of the pool's range is taken on this pod: like a full pool, try again soon.
    res.send(503, { reason: 'No RTP port free', headers: [['retry-after', String(POOL_BUSY_RETRY_AFTER_S)]] });
    deps.logger.warn({ callId: req.callId, err: err instanceof Error ? err.message : String(err) }, 'feature code call refused: no RTP port');
    deps.metrics.featureCodes.inc({ code, result: 'busy' });
    return;
  }
  if (!opened.ok) {
    if (opened.srtp) {
      // Not an error of ours: the phone insists on SRTP the IVR cannot take this way. The Warning
      // (RFC 3261 20.43) tells the phone's user or admin why.
      res.send(488, { reason: 'Not Acceptable Here', headers: [['warning', `399 ${deps.proxy.advertisedHost} "${srtpWarning(opened.srtp, tlsPortOf(deps.proxy))}"`]] });
      deps.logger.info({ callId: req.callId, transport: req.source.transport, problem: opened.reason }, 'feature code call refused: the phone offers only SRTP');
      deps.metrics.featureCodes.inc({ code, result: 'srtp_required' });
      return;
    }
    res.send(488, { reason: 'Not Acceptable Here', headers: [['warning', `305 ${deps.proxy.advertisedHost} "Incompatible media format: the IVR speaks G.711 (PCMU, PCMA)"`]] });
    deps.logger.info({ callId: req.callId, problem: opened.reason }, 'feature code call refused: no common codec');
    deps.metrics.featureCodes.inc({ code, result: 'error' });
    return;
  }
  const ivr = opened.session;
  let dialog: UasDialog;
  try {
    dialog = answer(deps.proxy, req, res, { body: opened.answerSdp });
  } catch {
    await ivr.close();
    return;
  }
  dialog.on('info', (info, infoRes) => {
    const key = parseDtmfInfo(info.get('content-type') ?? '', info.message.body.toString('utf8'));
    if (key) ivr.injectInfoDigit(key);
    infoRes.send(key ? 200 : 415);
  });
  dialog.on('bye', () => void ivr.close());
  // Hold, resume or a session refresh: answered on the same RTP port, with the new direction; a
  // re-INVITE without an offer gets our current description as the offer (RFC 3264 section 8).
  let currentSdp = opened.answerSdp;
  dialog.on('reinvite', (reinvite, reinviteRes) => {
    const offer = reinvite.message.body.toString('utf8');
    if (offer.trim() === '') {
      dialog.acceptReinvite(reinvite, reinviteRes, currentSdp);
      return;
    }
    const secure = ivr.srtp;
    const reanswer = answerOffer(offer, {
      localAddress: deps.mediaAddress,
      localPort: ivr.local.port,
      sessionId,
      sessionVersion: sessionVersion + 1,
      // Our key stays for the call (RFC 4568 section 7.1.4 lets it); the caller may change theirs.
      ...(secure ? { sdes: true, localSrtpKey: secure.local } : {}),
    });
    // A call stays as secure as it began: no re-INVITE turns SRTP off, or on.
    const problem = !reanswer.ok ? reanswer.reason : (reanswer.media.srtp !== undefined) !== (secure !== undefined) ? 'the re-offer changes between RTP and SRTP' : undefined;
    if (!reanswer.ok || problem !== undefined) {
      reinviteRes.send(488, { reason: 'Not Acceptable Here' });
      deps.logger.info({ callId: req.callId, problem }, 're-INVITE in a feature code call refused');
      return;
    }
    sessionVersion++;
    const media = reanswer.media;
    if (media.srtp) ivr.setSrtp(media.srtp);
    ivr.setMedia({ codecPt: media.codec.payloadType, codec: media.codec.name, ...(media.telephoneEventPayloadType !== undefined ? { dtmfPt: media.telephoneEventPayloadType } : {}) });
    currentSdp = reanswer.sdp;
    dialog.acceptReinvite(reinvite, reinviteRes, reanswer.sdp);
  });

  let result: FeatureResult;
  try {
    // Only a confirmed call gets media: an INVITE that is never ACKed (its answer went to an
    // address that did not ask for it) never starts the IVR.
    if (!(await dialog.waitForAck())) {
      result = 'abandoned';
      deps.logger.info({ callId: req.callId, source: req.source.address }, 'feature code call never acknowledged: no IVR');
    } else {
      await ivr.waitForCaller(CALLER_MEDIA_WAIT_MS);
      result = code === 'logout' ? await logout(deps, ivr, desk) : await login(deps, ivr, pool, desk, decision.extension, ticket);
    }
  } catch (err) {
    if (err instanceof IvrSessionClosedError) {
      result = 'abandoned';
    } else {
      result = 'error';
      deps.logger.error({ callId: req.callId, err: err instanceof Error ? err.message : String(err) }, 'feature code call failed');
      await ivr.play('error').catch(() => undefined);
    }
  } finally {
    await ivr.close();
    if (!dialog.ended) await dialog.bye().catch(() => undefined);
  }
  deps.metrics.featureCodes.inc({ code, result });
  const srtp = ivr.srtp ? { srtp: ivr.srtp.suite.name, srtpDropped: ivr.srtpDropped } : {};
  deps.logger.info({ callId: req.callId, device: desk.device.metadata.name, code, result, rtpPackets: ivr.packetsSent, ...srtp }, 'feature code call');
}

/** The edge's TLS port for phones, if it listens on one. */
function tlsPortOf(proxy: SipProxy): number | undefined {
  try {
    return proxy.address('tls').port;
  } catch {
    return undefined;
  }
}

/** What the 488's Warning tells a phone that insists on SRTP (no double quotes: it is a quoted string). */
export function srtpWarning(refusal: SrtpRefusal, tlsPort: number | undefined): string {
  switch (refusal) {
    case 'needs-tls':
      return tlsPort === undefined
        ? "SRTP needs SIP over TLS, which this edge does not offer: set the phone's SRTP to optional to use feature codes"
        : `SRTP needs SIP over TLS: register the phone over TLS (port ${tlsPort}), or set its SRTP to optional`;
    case 'dtls':
      return "DTLS-SRTP not supported: use SDES-SRTP (RTP/SAVP) over TLS, or set the phone's SRTP to optional";
    case 'savpf':
      return "RTP/SAVPF not supported: use SDES-SRTP as RTP/SAVP over TLS, or set the phone's SRTP to optional";
    case 'crypto':
      return 'No usable a=crypto line: the IVR speaks AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32, one inline key without MKI';
  }
}

async function logout(deps: FeatureCallDeps, ivr: IvrSession, desk: CallerDesk): Promise<FeatureResult> {
  const session = desk.session ?? deps.view.occupyingSession(desk.device.metadata.name ?? '');
  if (!session) {
    await ivr.play('logout-ok');
    return 'not_logged_in';
  }
  // The controller ends it as "logout" and keeps it as an audit record for the pool's retention.
  await deps.status.sessionAnnotations(session.metadata.name ?? '', { [ANNOTATION_LOGOUT_REQUESTED]: new Date().toISOString() });
  await ivr.play('logout-ok');
  return 'success';
}

function lockedNow(lockedUntil: string | undefined): boolean {
  return lockedUntil !== undefined && Date.parse(lockedUntil) > Date.now();
}

async function login(deps: FeatureCallDeps, ivr: IvrSession, pool: HotDeskPool, desk: CallerDesk, dialledExtension: string | undefined, ticket: IvrCallTicket): Promise<FeatureResult> {
  const policy = pool.spec.pinPolicy;
  const lockout = { maxAttempts: policy.maxAttempts, lockoutMs: parseDuration(policy.lockoutDuration) };
  let extension = dialledExtension;
  if (!extension) {
    await ivr.play('enter-extension');
    extension = (await ivr.collect({ maxDigits: 15, ...DIGIT_TIMEOUTS })).digits;
  }
  const user = extension ? deps.view.userByExtension(extension) : undefined;
  if (!user || !user.spec.hotDeskingEnabled) {
    await ivr.play('not-permitted');
    return user ? 'not_permitted' : 'unknown_user';
  }
  const userName = user.metadata.name ?? '';
  const deviceName = desk.device.metadata.name ?? '';
  if (!ticket.claimUser(userName)) {
    await ivr.play('error');
    return 'busy';
  }
  // From the cache, to answer a locked caller at once; the API has the last word at each attempt.
  const deskLocked = () => lockedNow(deps.view.device(deviceName)?.status?.lockedUntil);
  if (lockedNow(user.status?.lockedUntil) || deskLocked()) {
    await ivr.play('locked-out');
    return 'locked_out';
  }

  const ref = user.spec.secretRef;
  const credential = { pin: await deps.secrets.value(ref.name, ref.pinKey), pinHash: await deps.secrets.value(ref.name, ref.pinHashKey) };
  let empty = 0;
  for (;;) {
    await ivr.play('enter-pin');
    const entry = await ivr.collect({ maxDigits: policy.maxLength, ...DIGIT_TIMEOUTS });
    const lastDigitAt = performance.now();
    if (entry.digits === '') {
      if (++empty >= MAX_EMPTY_ENTRIES) return 'abandoned';
      continue;
    }
    if (deskLocked()) {
      await ivr.play('locked-out');
      return 'locked_out';
    }
    // The attempt is counted before the PIN is looked at, so parallel calls cannot all check.
    const reserved = await deps.attempts.reserve(userName, lockout);
    if (reserved.kind === 'locked') {
      await ivr.play('locked-out');
      return 'locked_out';
    }
    if (verifyPin(entry.digits, credential)) {
      const verdict = await deps.attempts.rightPin(userName, reserved.attempt);
      if (verdict.kind === 'locked') {
        await ivr.play('locked-out');
        return 'locked_out';
      }
      if (reserved.attempt.provisionalLock) await lockLiftSeen(deps, userName, reserved.attempt.provisionalLock);
      return admit(deps, ivr, user, desk, lastDigitAt);
    }
    deps.metrics.pinFailures.inc();
    const lockedUntil = await deps.attempts.wrongPin(userName, deviceName, reserved.attempt);
    if (lockedUntil) {
      deps.metrics.lockouts.inc();
      deps.logger.warn({ device: deviceName, user: userName, until: lockedUntil.toISOString() }, 'locked out after too many wrong PINs');
      await ivr.play('locked-out');
      return 'locked_out';
    }
    await ivr.play('pin-wrong');
  }
}

/**
 * A right PIN on the last attempt lifted the lock its reservation wrote. The controller admits a
 * session only for an unlocked user, as its cache shows it: wait (briefly) until ours shows the lock
 * lifted, so that the session does not reach the controller before the lift does.
 */
async function lockLiftSeen(deps: FeatureCallDeps, userName: string, provisionalLock: Date): Promise<void> {
  const deadline = Date.now() + LOCK_LIFT_VISIBLE_MS;
  while (Date.now() < deadline) {
    const seen = deps.view.user(userName)?.status?.lockedUntil;
    if (!seen || Date.parse(seen) !== provisionalLock.getTime()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates the session and waits (briefly) for the controller's verdict before telling the caller. */
async function admit(deps: FeatureCallDeps, ivr: IvrSession, user: User, desk: CallerDesk, lastDigitAt: number): Promise<FeatureResult> {
  const deviceName = desk.device.metadata.name ?? '';
  const created = await deps.client.request<Session>({
    method: 'POST',
    path: collectionPath(HOTDESK_KINDS.session, deps.view.namespace),
    body: {
      apiVersion: GROUP_VERSION,
      kind: HOTDESK_KINDS.session.kind,
      metadata: { generateName: `${user.metadata.name}-at-${deviceName}-`.slice(0, 57), namespace: deps.view.namespace, labels: { [LABEL_POOL]: deps.view.poolName } },
      spec: { device: deviceName, user: user.metadata.name, origin: 'featureCode' },
    },
  });
  deps.logins.started(deviceName, user.spec.extension, lastDigitAt);
  const phase = await waitForAdmission(deps, created.metadata.name ?? '', deps.admissionTimeoutMs ?? 5_000);
  if (phase === 'Refused') {
    await ivr.play('error');
    return 'refused';
  }
  await ivr.play('login-ok');
  return 'success';
}

function waitForAdmission(deps: FeatureCallDeps, name: string, timeoutMs: number): Promise<string | undefined> {
  const phaseOf = () => deps.view.sessions.get(deps.view.namespace, name)?.status?.phase;
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      const phase = phaseOf();
      if (phase && phase !== 'Pending') return resolve(phase);
      if (Date.now() >= deadline) return resolve(undefined);
      setTimeout(poll, 20);
    };
    poll();
  });
}
