import { pino } from 'pino';
import type { Logger } from '../log.ts';
import type { ProvisioningResult } from './provisioning-server.ts';

export interface AccessRecord {
  remote: string | undefined;
  method: string | undefined;
  path: string | undefined;
  status: number;
  result: ProvisioningResult;
  ms: number;
}

const INFO = 30;

/**
 * The provisioning access log: one line per request, the same JSON line pino would write for
 * `logger.info(record, 'provisioning')`, into the logger's own stream. Formatted here rather than
 * by pino because a boot storm writes thousands a second and pino's general path (redaction,
 * serializers, key walking) was a tenth of a request's CPU. Every field is a scalar this server
 * sets; none can hold a credential.
 */
export class AccessLog {
  readonly #logger: Logger;
  readonly #stream: { write(line: string): unknown };
  readonly #bindings: string;

  constructor(logger: Logger) {
    const internals = logger as unknown as Record<symbol, unknown>;
    this.#logger = logger;
    this.#stream = internals[pino.symbols.streamSym] as { write(line: string): unknown };
    this.#bindings = internals[pino.symbols.chindingsSym] as string;
  }

  record(r: AccessRecord): void {
    // The level can change at run time; pino's own check is a comparison too.
    if (this.#logger.levelVal > INFO) return;
    this.#stream.write(`{"level":${INFO},"time":${Date.now()}${this.#bindings}${text('remote', r.remote)}${text('method', r.method)}${text('path', r.path)},"status":${r.status},"result":"${r.result}","ms":${r.ms},"msg":"provisioning"}\n`);
  }
}

/** A string field, left out when undefined as pino leaves it out. */
function text(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}
