import type { SessionPhase } from '../../src/api/session.ts';
import type { DeviceView, SessionView, UserView } from '../../src/cli/resources.ts';

/** Small builders for the objects the plugin reads, as the API server would return them. */

export function user(name: string, extension: string, displayName: string, namespace = 'hq'): UserView {
  return { metadata: { name, namespace }, spec: { pool: 'main', extension, displayName, hotDeskingEnabled: true } };
}

export function device(name: string, mac: string, status: DeviceView['status'] = { phase: 'Idle' }, namespace = 'hq'): DeviceView {
  return { metadata: { name, namespace }, spec: { mac, vendor: 'yealink', model: 'T54W', pool: 'main', location: `${name} floor 3` }, status };
}

export function session(name: string, deviceName: string, userName: string, phase: SessionPhase | undefined, extra: Partial<NonNullable<SessionView['status']>> = {}, namespace = 'hq'): SessionView {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, creationTimestamp: '2025-03-01T11:00:00Z' },
    spec: { device: deviceName, user: userName, origin: 'featureCode' },
    ...(phase === undefined ? {} : { status: { phase, ...extra } }),
  };
}
