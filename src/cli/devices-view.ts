import { ageSince } from './age.ts';
import { displayMac } from './mac.ts';
import { byNamespaceAndName, type DeviceView } from './resources.ts';
import { renderTable } from './table.ts';

/** When the last re-sync was sent, and whether the phone has fetched its file since. */
export function describeResync(resync: { sentAt?: string; acknowledgedAt?: string } | undefined, now: Date): string {
  if (!resync?.sentAt) return '';
  const age = ageSince(resync.sentAt, now);
  return resync.acknowledgedAt ? age : `${age} (no ack)`;
}

/** The table `kubectl hotdesk devices` prints. */
export function renderDevices(devices: DeviceView[], opts: { allNamespaces: boolean; now: Date }): string {
  const sorted = [...devices].sort(byNamespaceAndName);
  const headers = ['name', 'mac', 'vendor', 'model', 'phase', 'occupant', 'revision', 'last resync'];
  const rows = sorted.map((d) => [
    d.metadata?.name ?? '',
    d.spec?.mac ? displayMac(d.spec.mac) : '',
    d.spec?.vendor ?? '',
    d.spec?.model ?? '',
    d.status?.phase ?? '',
    d.status?.occupant?.extension ?? d.status?.occupant?.user ?? '',
    d.status?.configRevision ?? '',
    describeResync(d.status?.lastResync, opts.now),
  ]);
  return opts.allNamespaces
    ? renderTable(['namespace', ...headers], rows.map((row, i) => [sorted[i]!.metadata?.namespace ?? '', ...row]))
    : renderTable(headers, rows);
}
