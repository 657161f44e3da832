/**
 * Field builders shared by several kinds, each with its CEL check and a message that names the
 * field and says what a valid value looks like.
 */
import { celString, obj, str, type Schema } from './schema.ts';

/** Go-style durations as src/policy/duration.ts parses them. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const TIME_OF_DAY_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
/** IANA-shaped ("Europe/London", "America/Argentina/Buenos_Aires", "UTC"); the zone database decides the rest. */
const TIME_ZONE_SHAPE = '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$';
/** A DNS-1123 subdomain: what metadata.name of every object referred to by name must be. */
export const OBJECT_NAME_PATTERN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';

export function duration(field: string, opts: { description: string; default: string }): Schema<string, string, true>;
export function duration(field: string, opts: { description: string }): Schema<string, string, false>;
export function duration(field: string, opts: { description: string; default?: string }): Schema<string, string, boolean> {
  return str({
    description: `${opts.description} A Go-style duration: a number and a unit (ms, s, m, h), e.g. 8h, 30m, 90s, 1h30m.`,
    maxLength: 32,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    rules: [{ rule: `self.matches(${celString(DURATION_PATTERN)})`, message: `${field} must be a duration such as 8h, 30m, 90s or 1h30m (units ms, s, m, h; no spaces, no days)` }],
  });
}

export function timeOfDay(field: string, description: string) {
  return str({
    description: `${description} 24-hour local time "HH:MM", e.g. 19:00.`,
    maxLength: 5,
    rules: [{ rule: `self.matches(${celString(TIME_OF_DAY_PATTERN)})`, message: `${field} must be a 24-hour time "HH:MM" between 00:00 and 23:59, e.g. 19:00` }],
  });
}

/**
 * The zone is checked by asking CEL's own time-zone database for it, so an unknown zone such as
 * "Mars/Olympus" is refused by the API server, not discovered at 19:00 by the controller.
 */
export function timeZone(field: string, description: string) {
  return str({
    description: `${description} An IANA time zone name, e.g. Europe/London, America/New_York or UTC.`,
    maxLength: 64,
    default: 'UTC',
    rules: [{
      rule: `self.matches(${celString(TIME_ZONE_SHAPE)}) && self != 'Local' && timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0`,
      message: `${field} must be an IANA time zone name such as Europe/London or UTC`,
    }],
  });
}

export function objectName(description: string) {
  return str({ description, pattern: OBJECT_NAME_PATTERN, minLength: 1, maxLength: 253 });
}

/** The key of a Secret's data entry. */
export function secretKey(description: string, defaultKey: string) {
  return str({ description, pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253, default: defaultKey });
}

/** A reference to a ConfigMap key, e.g. a custom provisioning template. */
export function configMapKeyRef(description: string) {
  return obj({
    name: objectName('Name of the ConfigMap, in the same namespace.'),
    key: str({ description: 'Key of the ConfigMap entry.', pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253 }),
  }, { description, required: ['name', 'key'] });
}

export function dateTime(description: string) {
  return str({ description: `${description} RFC 3339 date-time, e.g. 2025-01-31T18:00:00Z.`, format: 'date-time' });
}
