import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /**
   * Write lines in batches of 4 KiB, and at least every quarter second, instead of one write per
   * line: for a process whose access log has a line per request. Lines still pending when the
   * process exits are written then.
   */
  buffered?: boolean;
}

const BUFFERED_FLUSH_MS = 250;

/**
 * The one structured logger. JSON lines to stderr so stdout stays free for command output;
 * LOG_LEVEL picks the level. Redaction is a second line of defence: code must not log secrets.
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  return pino(
    {
      name,
      level: process.env.LOG_LEVEL ?? 'info',
      base: { pid: process.pid, ...bindings },
      redact: { paths: ['password', '*.password', 'pin', '*.pin', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    opts.buffered ? bufferedStderr() : pino.destination(2),
  );
}

function bufferedStderr(): DestinationStream {
  return pino.destination({ dest: 2, sync: false, minLength: 4096, periodicFlush: BUFFERED_FLUSH_MS });
}

export type { Logger };
