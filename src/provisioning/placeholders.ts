import { escapeXml, isXmlContentType } from './xml.ts';

/**
 * Secrets never enter a renderer: each rendered file carries a placeholder token where a secret goes,
 * and the edge replaces it when it serves the file to the phone (the only moment the secret exists
 * outside its Secret). Rendered files can therefore be stored in ConfigMaps, hashed into revisions and
 * shown by `kubectl` without leaking anything.
 *
 * The token `{{hotdesk:secret:NAME}}` cannot collide with vendor syntax: no vendor format here uses
 * double braces (Grandstream dial plans use single braces), and the `hotdesk:` namespace keeps it apart
 * from a custom template's own mustache tags, which are rendered before the file is stored.
 */

export const SECRET_NAMES = ['password'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export function secretPlaceholder(name: SecretName): string {
  return `{{hotdesk:secret:${name}}}`;
}

/** The SIP password's placeholder, as it appears in every rendered file. */
export const PASSWORD_PLACEHOLDER = secretPlaceholder('password');

/** Anything that starts like one of our tokens, well-formed or not. */
const TOKEN_START = '{{hotdesk:';
const TOKEN_PATTERN = /\{\{hotdesk:secret:([a-z][a-z0-9_-]*)\}\}/y;

export class PlaceholderError extends Error {
  override name = 'PlaceholderError';
}

export type PlaceholderValues = Partial<Record<string, string>>;

export interface FillOptions {
  /** The file's content type; XML types get XML-escaped values, others must fit on one line. */
  contentType: string;
}

/** The secret names a file refers to, in order of first use; throws on a malformed or unknown token. */
export function placeholdersIn(content: string): SecretName[] {
  const names: SecretName[] = [];
  scan(content, (name) => {
    if (!names.includes(name)) names.push(name);
    return '';
  });
  return names;
}

/**
 * Replaces every placeholder with its value, escaped for the file's format. Throws (and the edge must
 * then refuse to serve the file) on a token it does not know, on a known one with no value, and on a
 * value a line-oriented format cannot carry.
 */
export function fillPlaceholders(content: string, values: PlaceholderValues, options: FillOptions): string {
  const xml = isXmlContentType(options.contentType);
  return scan(content, (name) => {
    const value = values[name];
    if (value === undefined) throw new PlaceholderError(`no value for placeholder ${secretPlaceholder(name)}`);
    if (xml) return escapeXml(value);
    if (/[\r\n\0]/.test(value)) {
      throw new PlaceholderError(`the value for ${secretPlaceholder(name)} contains a line break, which ${options.contentType} cannot carry`);
    }
    return value;
  });
}

function scan(content: string, replace: (name: SecretName) => string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const at = content.indexOf(TOKEN_START, from);
    if (at < 0) return out + content.slice(from);
    TOKEN_PATTERN.lastIndex = at;
    const match = TOKEN_PATTERN.exec(content);
    if (!match) {
      const excerpt = content.slice(at, at + 40).split(/\r?\n/)[0];
      throw new PlaceholderError(`malformed placeholder at offset ${at}: ${JSON.stringify(excerpt)}`);
    }
    const name = match[1] ?? '';
    if (!isSecretName(name)) throw new PlaceholderError(`unknown placeholder {{hotdesk:secret:${name}}}`);
    out += content.slice(from, at) + replace(name);
    from = at + match[0].length;
  }
}

function isSecretName(name: string): name is SecretName {
  return (SECRET_NAMES as readonly string[]).includes(name);
}
