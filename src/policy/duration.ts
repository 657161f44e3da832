const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a Go-style duration ("8h", "1h30m", "90s", "500ms") to milliseconds. */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new Error(`invalid duration "${text}": use a number with a unit of ms, s, m or h, e.g. 8h or 1h30m`);
  let total = 0;
  for (const [, value, unit] of text.matchAll(PART)) total += Number(value) * (UNIT_MS[unit!] ?? 0);
  return Math.round(total);
}

/** parseDuration for optional fields: undefined and "0s"-like values both mean "not set". */
export function optionalDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = parseDuration(text);
  return ms > 0 ? ms : undefined;
}
