import { isStatus, type KubeClient } from '../runtime/index.ts';
import { secretOptIn } from '../policy/secret-opt-in.ts';

const DEFAULT_TTL_MS = 10_000;

/** A Secret's data, decoded once when read. */
type SecretData = Record<string, string> | undefined;

interface CachedSecret {
  at: number;
  data: Promise<SecretData>;
  /** The data once the GET has answered, for synchronous reads. */
  settled?: SecretData;
  hasSettled: boolean;
}

/**
 * Reads single Secret keys by GET (the edge's Role names each Secret it may read, so it cannot
 * list or watch them), with a short cache so a boot storm of phones costs one GET per Secret.
 * Values live only in memory and never reach a log line. A Secret not labelled for the edge's pool
 * reads as absent, even when the Role still names it (a label just removed): its values are never
 * filled into a file nor compared with a PIN.
 */
export class SecretReader {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #pool: string;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CachedSecret>();

  constructor(client: KubeClient, namespace: string, pool: string, ttlMs = DEFAULT_TTL_MS) {
    this.#client = client;
    this.#namespace = namespace;
    this.#pool = pool;
    this.#ttlMs = ttlMs;
  }

  /** The key's value; synchronous when the Secret is cached, so a boot storm's requests need not wait a turn. */
  value(secret: string, key: string): string | undefined | Promise<string | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(secret);
    if (hit && now - hit.at < this.#ttlMs) {
      if (hit.hasSettled) return hit.settled?.[key];
      return hit.data.then((data) => data?.[key]);
    }
    return this.#fetch(secret, now).then((data) => data?.[key]);
  }

  #fetch(secret: string, now: number): Promise<SecretData> {
    const data = this.#client
      .request<{ metadata?: { labels?: Record<string, string> }; data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${this.#namespace}/secrets/${encodeURIComponent(secret)}` })
      .then((s): SecretData => {
        if (!secretOptIn({ field: 'secret', name: secret }, this.#pool, s.metadata?.labels ?? {}).allowed) return undefined;
        return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      })
      .catch((err: unknown) => {
        this.#cache.delete(secret);
        if (isStatus(err, 404)) return undefined;
        throw err;
      });
    const entry: CachedSecret = { at: now, data, hasSettled: false };
    data.then((settled) => {
      entry.settled = settled;
      entry.hasSettled = true;
    }, () => {});
    this.#cache.set(secret, entry);
    return data;
  }
}
