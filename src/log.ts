import { pino, type Logger } from 'pino';

/**
 * The one structured logger. JSON lines to stderr so stdout stays free for command output;
 * LOG_LEVEL picks the level. Redaction is a second line of defence: code must not log secrets.
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      name,
      level: process.env.LOG_LEVEL ?? 'info',
      base: { pid: process.pid, ...bindings },
      redact: { paths: ['password', '*.password', 'pin', '*.pin', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    pino.destination(2),
  );
}

export type { Logger };
