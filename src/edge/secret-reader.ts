import { isStatus, type KubeClient } from '../runtime/index.ts';

const DEFAULT_TTL_MS = 10_000;

/**
 * Reads single Secret keys by GET (the edge's Role names each Secret it may read, so it cannot
 * list or watch them), with a short cache so a boot storm of phones costs one GET per Secret.
 * Values live only in memory and never reach a log line.
 */
export class SecretReader {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; data: Promise<Record<string, string> | undefined> }>();

  constructor(client: KubeClient, namespace: string, ttlMs = DEFAULT_TTL_MS) {
    this.#client = client;
    this.#namespace = namespace;
    this.#ttlMs = ttlMs;
  }

  async value(secret: string, key: string): Promise<string | undefined> {
    const data = await this.#data(secret);
    const raw = data?.[key];
    return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
  }

  #data(secret: string): Promise<Record<string, string> | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(secret);
    if (hit && now - hit.at < this.#ttlMs) return hit.data;
    const data = this.#client
      .request<{ data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${this.#namespace}/secrets/${encodeURIComponent(secret)}` })
      .then((s) => s.data ?? {})
      .catch((err: unknown) => {
        this.#cache.delete(secret);
        if (isStatus(err, 404)) return undefined;
        throw err;
      });
    this.#cache.set(secret, { at: now, data });
    return data;
  }
}
