/**
 * Generic `;name=value` parameter lists, shared by URIs, name-addr headers and Via.
 * Names are lower-cased; a parameter without `=` (e.g. `lr`, `rport`) has the value null.
 */

export type SipParams = Record<string, string | null>;

/**
 * Splits `text` at every `separator` that is outside double quotes and angle brackets.
 * Used for comma-separated header values and for `;` parameter lists.
 */
export function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depthAngle = 0;
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') inQuotes = true;
    else if (ch === '<') depthAngle++;
    else if (ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === separator && depthAngle === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Parses `;a=1;b;c="x;y"` (leading `;` optional). Empty segments are ignored. */
export function parseParams(text: string): SipParams {
  const params: SipParams = {};
  for (const segment of splitOutsideQuotes(text, ';')) {
    const trimmed = segment.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) params[trimmed.toLowerCase()] = null;
    else params[trimmed.slice(0, eq).trim().toLowerCase()] = trimmed.slice(eq + 1).trim();
  }
  return params;
}

export function serializeParams(params: SipParams): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
