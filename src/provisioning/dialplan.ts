import type { ProvisioningInput } from './model.ts';

/**
 * The idle phone's allow-list as dial plan strings. Only dialable characters survive, so an admin's
 * "1 1 2" or "+1-911" cannot break a vendor's syntax.
 */

export interface IdleDialing {
  emergency: string[];
  loginPrefix?: string;
}

export function idleDialing(input: ProvisioningInput): IdleDialing {
  const emergency = input.emergencyNumbers.map(dialable).filter((n) => n.length > 0);
  const login = dialable(input.featureCodes.login ?? '');
  return login ? { emergency, loginPrefix: login } : { emergency };
}

function dialable(value: string): string {
  return value.replace(/[^0-9*#+]/g, '');
}

/**
 * RFC 3435 digit map (Yealink, Polycom): each emergency number exactly, and the login prefix followed
 * by anything the login flow needs (extension digits, a closing "*").
 */
export function digitMapAllowList(dialing: IdleDialing): string {
  const entries = [...dialing.emergency];
  if (dialing.loginPrefix) entries.push(`${dialing.loginPrefix}[x*#].T`);
  return entries.join('|');
}

/**
 * Grandstream dial plan: `{ a | b }`, where "*" and "+" are escaped with a backslash and "x+" is one or
 * more digits. The login code may be complete on its own (Yeastar "*93") or take an extension with or
 * without a closing "*" (3CX "*77*101*").
 */
export function grandstreamAllowList(dialing: IdleDialing): string {
  const escape = (s: string) => s.replace(/[*+]/g, (ch) => `\\${ch}`);
  const entries = dialing.emergency.map(escape);
  if (dialing.loginPrefix) {
    const p = escape(dialing.loginPrefix);
    entries.push(p, `${p}x+`, `${p}x+\\*`);
  }
  return `{ ${entries.join(' | ')} }`;
}
