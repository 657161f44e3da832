import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException } from '@kubernetes/client-node';

/** As many attempts as kubectl's client makes before it shows the error. */
const MAX_RETRIES = 10;
const MAX_WAIT_MS = 10_000;

/**
 * How long the server asked us to wait before retrying, or undefined if this error is final.
 * Like kubectl's client: only 429 and 5xx answers that carry Retry-After are retried (the API
 * server sends those while, e.g., a freshly installed CRD's storage is still initializing).
 */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ApiException)) return undefined;
  if (err.code !== 429 && (err.code < 500 || err.code > 599)) return undefined;
  const header = Object.entries(err.headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  const seconds = header === undefined ? NaN : Number(header);
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.min(seconds * 1_000, MAX_WAIT_MS);
}

export async function withServerRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const wait = attempt < MAX_RETRIES ? retryAfterMs(err) : undefined;
      if (wait === undefined) throw err;
      await sleep(wait);
    }
  }
}
