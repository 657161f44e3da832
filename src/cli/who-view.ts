import { ageSince } from './age.ts';
import { byNamespaceAndName, namespacedKey, type DeviceView, type SessionView, type UserView } from './resources.ts';
import { renderTable } from './table.ts';

export type DeskState = 'idle' | 'occupied' | 'error';

/** One desk as the "who is where" view shows it. */
export interface DeskOccupancy {
  namespace: string;
  device: string;
  pool: string | undefined;
  location: string | undefined;
  state: DeskState;
  extension: string | undefined;
  user: string | undefined;
  displayName: string | undefined;
  session: string | undefined;
  /** When the occupant logged in (RFC 3339). */
  since: string | undefined;
}

/**
 * Joins devices, users and sessions into who sits where. The device's status (written by the
 * controller) names the occupant; an Active session for the device stands in while the controller
 * has not yet recorded it there.
 */
export function deskOccupancy(devices: DeviceView[], users: UserView[], sessions: SessionView[]): DeskOccupancy[] {
  const usersByKey = new Map(users.map((u) => [namespacedKey(u), u]));
  const sessionsByKey = new Map(sessions.map((s) => [namespacedKey(s), s]));
  const activeByDevice = new Map<string, SessionView>();
  for (const s of sessions) if (s.status?.phase === 'Active' && s.spec?.device) activeByDevice.set(namespacedKey(s, s.spec.device), s);

  return [...devices].sort(byNamespaceAndName).map((device) => {
    const namespace = device.metadata?.namespace ?? '';
    const occupant = device.status?.occupant;
    const recorded = occupant && (occupant.user || occupant.extension);
    const session = recorded
      ? occupant.session !== undefined ? sessionsByKey.get(`${namespace}/${occupant.session}`) : undefined
      : activeByDevice.get(namespacedKey(device));
    const userName = recorded ? occupant.user : session?.spec?.user;
    const user = userName !== undefined ? usersByKey.get(`${namespace}/${userName}`) : undefined;
    const occupied = Boolean(recorded || session);
    return {
      namespace,
      device: device.metadata?.name ?? '',
      pool: device.spec?.pool,
      location: device.spec?.location,
      state: device.status?.phase === 'Error' ? 'error' : occupied ? 'occupied' : 'idle',
      extension: occupied ? (occupant?.extension ?? user?.spec?.extension) : undefined,
      user: occupied ? userName : undefined,
      displayName: occupied ? user?.spec?.displayName : undefined,
      session: occupied ? (occupant?.session ?? session?.metadata?.name) : undefined,
      since: occupied ? (session?.status?.startedAt ?? session?.metadata?.creationTimestamp) : undefined,
    };
  });
}

/** The table `kubectl hotdesk who` prints. */
export function renderWho(desks: DeskOccupancy[], opts: { allNamespaces: boolean; now: Date }): string {
  const headers = ['device', 'pool', 'state', 'extension', 'user', 'since'];
  const rows = desks.map((d) => [
    d.device,
    d.pool ?? '',
    d.state,
    d.extension ?? '',
    d.displayName ?? d.user ?? '',
    d.user === undefined && d.extension === undefined ? '' : ageSince(d.since, opts.now),
  ]);
  return opts.allNamespaces
    ? renderTable(['namespace', ...headers], rows.map((row, i) => [desks[i]!.namespace, ...row]))
    : renderTable(headers, rows);
}
