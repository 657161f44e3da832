import { normalizeMac } from './mac.ts';
import { isOpen, type DeviceView, type SessionView, type UserView } from './resources.ts';

export type TargetKind = 'device' | 'mac' | 'extension';

export type LogoutResolution =
  | { found: 'sessions'; by: TargetKind; sessions: SessionView[] }
  /** The target names a desk or user, but nobody is logged in there. */
  | { found: 'nobody'; by: TargetKind; what: string }
  /** The target is neither a device name, a device's MAC nor an extension. */
  | { found: 'nothing' };

/**
 * Which open sessions `logout TARGET` ends, all objects being from one namespace. The target is
 * tried as a device name, then as a MAC in any notation, then as an extension, so a device named
 * like an extension is never confused with that user's session elsewhere.
 */
export function resolveLogoutTarget(
  target: string,
  objects: { devices: DeviceView[]; users: UserView[]; sessions: SessionView[] },
): LogoutResolution {
  const open = objects.sessions.filter(isOpen);
  const sessionsAt = (deviceNames: Set<string>) => open.filter((s) => s.spec?.device !== undefined && deviceNames.has(s.spec.device));

  const named = objects.devices.filter((d) => d.metadata?.name === target);
  if (named.length > 0) {
    const sessions = sessionsAt(new Set([target]));
    return sessions.length > 0 ? { found: 'sessions', by: 'device', sessions } : { found: 'nobody', by: 'device', what: `device ${target}` };
  }

  const mac = normalizeMac(target);
  const withMac = mac === undefined ? [] : objects.devices.filter((d) => d.spec?.mac !== undefined && normalizeMac(d.spec.mac) === mac);
  if (withMac.length > 0) {
    const names = new Set(withMac.map((d) => d.metadata?.name ?? ''));
    const sessions = sessionsAt(names);
    return sessions.length > 0 ? { found: 'sessions', by: 'mac', sessions } : { found: 'nobody', by: 'mac', what: `device ${[...names].join(', ')} (MAC ${target})` };
  }

  const users = objects.users.filter((u) => u.spec?.extension === target);
  if (users.length > 0) {
    const names = new Set(users.map((u) => u.metadata?.name ?? ''));
    const sessions = open.filter((s) => s.spec?.user !== undefined && names.has(s.spec.user));
    return sessions.length > 0 ? { found: 'sessions', by: 'extension', sessions } : { found: 'nobody', by: 'extension', what: `extension ${target}` };
  }
  return { found: 'nothing' };
}

/** "extension 101 (Alice Smith) at desk-3f-12": who a session puts where, in the words of the desk. */
export function describeSession(session: SessionView, users: UserView[]): string {
  const user = users.find((u) => u.metadata?.name === session.spec?.user);
  const extension = user?.spec?.extension;
  const who = extension !== undefined ? `extension ${extension}` : `user ${session.spec?.user ?? '<unknown>'}`;
  const name = user?.spec?.displayName ? ` (${user.spec.displayName})` : '';
  return `${who}${name} at ${session.spec?.device ?? '<unknown device>'}`;
}
