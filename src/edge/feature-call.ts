import type { HotDeskPool } from '../api/index.ts';
import { GROUP_VERSION } from '../api/group.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { ANNOTATION_LOGOUT_REQUESTED, LABEL_POOL } from '../api/labels.ts';
import { parseDtmfInfo } from '../media/dtmf-info.ts';
import { IvrSession, IvrSessionClosedError } from '../media/ivr-session.ts';
import type { PromptSet } from '../media/prompts.ts';
import { parseDuration } from '../policy/duration.ts';
import { isLocked, recordPinFailure, verifyPin } from '../policy/pin.ts';
import { collectionPath, type KubeClient } from '../runtime/index.ts';
import type { SipProxy } from '../sip/proxy.ts';
import type { IncomingRequest, ServerResponse } from '../sip/request-context.ts';
import { answer, type UasDialog } from '../sip/uas.ts';
import type { Logger } from '../log.ts';
import type { DialDecision } from './dial-decision.ts';
import type { EdgeMetrics, FeatureResult } from './edge-metrics.ts';
import type { LoginTracker } from './login-tracker.ts';
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
  /** Where the RTP socket binds, and the address written into our SDP. */
  rtpHost: string;
  mediaAddress: string;
  /** How long to wait for the controller to admit a new session before telling the caller. */
  admissionTimeoutMs?: number;
}

const DIGIT_TIMEOUTS = { interDigitTimeoutMs: 5_000, firstDigitTimeoutMs: 10_000, overallTimeoutMs: 30_000 };
/** Empty entries (silence) do not count as wrong PINs; after this many the call ends. */
const MAX_EMPTY_ENTRIES = 2;

/**
 * Answers a login or logout feature code: voice prompts, PIN by RFC 4733 or SIP INFO DTMF,
 * lockout after the pool's number of wrong PINs, and the session written through the API.
 */
export async function handleFeatureCall(deps: FeatureCallDeps, req: IncomingRequest, res: ServerResponse, desk: CallerDesk, decision: Extract<DialDecision, { action: 'login' | 'logout' }>): Promise<void> {
  const code = decision.action;
  const pool = deps.view.pool();
  if (!pool) {
    res.send(503, { reason: 'Hot desk pool not configured' });
    return;
  }
  const opened = await IvrSession.answer(req.message.body.toString('utf8'), {
    localHost: deps.rtpHost,
    advertisedAddress: deps.mediaAddress,
    sessionId: Date.now(),
    sessionVersion: 1,
    prompts: deps.prompts,
  });
  if (!opened.ok) {
    res.send(488, { reason: 'Not Acceptable Here' });
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

  let result: FeatureResult;
  try {
    await dialog.waitForAck();
    result = code === 'logout' ? await logout(deps, ivr, desk) : await login(deps, ivr, pool, desk, decision.extension);
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
  deps.logger.info({ callId: req.callId, device: desk.device.metadata.name, code, result }, 'feature code call');
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

async function login(deps: FeatureCallDeps, ivr: IvrSession, pool: HotDeskPool, desk: CallerDesk, dialledExtension: string | undefined): Promise<FeatureResult> {
  const policy = pool.spec.pinPolicy;
  let extension = dialledExtension;
  if (!extension) {
    await ivr.play('enter-extension', { bargeIn: true });
    extension = (await ivr.collect({ maxDigits: 15, ...DIGIT_TIMEOUTS })).digits;
  }
  const user = extension ? deps.view.userByExtension(extension) : undefined;
  if (!user || !user.spec.hotDeskingEnabled) {
    await ivr.play('not-permitted');
    return user ? 'not_permitted' : 'unknown_user';
  }
  const now = new Date();
  const device = desk.device;
  const userLock = { failedAttempts: user.status?.failedPinAttempts ?? 0, lockedUntil: user.status?.lockedUntil ? new Date(user.status.lockedUntil) : undefined };
  const deviceLockedUntil = device.status?.lockedUntil ? new Date(device.status.lockedUntil) : undefined;
  if (isLocked(userLock, now) || (deviceLockedUntil && deviceLockedUntil > now)) {
    await ivr.play('locked-out');
    return 'locked_out';
  }

  const ref = user.spec.secretRef;
  const credential = { pin: await deps.secrets.value(ref.name, ref.pinKey), pinHash: await deps.secrets.value(ref.name, ref.pinHashKey) };
  let lock: { failedAttempts: number; lockedUntil?: Date | undefined } = userLock;
  let empty = 0;
  for (;;) {
    await ivr.play('enter-pin', { bargeIn: true });
    const entry = await ivr.collect({ maxDigits: policy.maxLength, ...DIGIT_TIMEOUTS });
    const lastDigitAt = performance.now();
    if (entry.digits === '') {
      if (++empty >= MAX_EMPTY_ENTRIES) return 'abandoned';
      continue;
    }
    if (verifyPin(entry.digits, credential)) {
      if (lock.failedAttempts > 0 || lock.lockedUntil) await deps.status.user(user.metadata.name ?? '', { failedPinAttempts: 0, lockedUntil: null });
      return admit(deps, ivr, user, desk, lastDigitAt);
    }
    deps.metrics.pinFailures.inc();
    const next = recordPinFailure(lock, new Date(), { maxAttempts: policy.maxAttempts, lockoutMs: parseDuration(policy.lockoutDuration) });
    lock = next;
    await deps.status.user(user.metadata.name ?? '', { failedPinAttempts: next.failedAttempts, lockedUntil: next.lockedUntil?.toISOString() ?? null });
    if (next.lockedOut) {
      // The desk is locked too, so a guesser cannot move on to the next extension from it.
      await deps.status.device(device.metadata.name ?? '', { lockedUntil: next.lockedUntil?.toISOString() });
      deps.metrics.lockouts.inc();
      deps.logger.warn({ device: device.metadata.name, user: user.metadata.name, until: next.lockedUntil?.toISOString() }, 'locked out after too many wrong PINs');
      await ivr.play('locked-out');
      return 'locked_out';
    }
    await ivr.play('pin-wrong');
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
