const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/** "2h3m" unless the second part is zero, then just "2h". */
function pair(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit}${minor}${minorUnit}`;
}

/**
 * Renders an elapsed time the way kubectl's AGE column does: precise while it is short, coarser as it
 * grows (90s, 5m30s, 42m, 3h5m, 20h, 3d4h, 40d, 2y10d, 9y), so users read both tools the same way.
 */
export function formatAge(elapsedMs: number): string {
  const seconds = Math.trunc(elapsedMs / SECOND);
  // A clock a second ahead of the server's is "now", not an error.
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(elapsedMs / MINUTE);
  if (minutes < 10) return pair(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(elapsedMs / HOUR);
  if (hours < 8) return pair(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(elapsedMs / DAY);
  if (hours < 8 * 24) return pair(days, 'd', hours % 24, 'h');
  if (elapsedMs < 2 * YEAR) return `${days}d`;
  const years = Math.trunc(elapsedMs / YEAR);
  if (elapsedMs < 8 * YEAR) return pair(years, 'y', days % 365, 'd');
  return `${years}y`;
}

/** The age of an RFC 3339 timestamp at `now`; "<unknown>" when there is none, as kubectl prints. */
export function ageSince(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return '<unknown>';
  return formatAge(now.getTime() - at);
}
