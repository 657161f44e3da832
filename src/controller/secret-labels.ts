import { isStatus, type KubeClient } from '../runtime/index.ts';
import { poolSecrets, type PoolSecrets, type SecretLabels, type SecretReference } from '../policy/secret-opt-in.ts';

const DEFAULT_MAX_AGE_MS = 30_000;

interface Entry {
  at: number;
  labels: Promise<SecretLabels>;
  /** Whether the GET answered that the Secret does not exist. */
  missing?: boolean;
}

/**
 * The labels of the Secrets users and devices name, read one by one by GET (the controller may not
 * list or watch Secrets) and kept only as labels: the opt-in decision needs nothing else, and no
 * Secret value stays in the controller's memory. Secrets are not watched, so an entry older than
 * the caller's maximum age is read again.
 */
export class SecretLabelCache {
  readonly #client: KubeClient;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(client: KubeClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  labels(namespace: string, name: string, maxAgeMs = DEFAULT_MAX_AGE_MS): Promise<SecretLabels> {
    const key = `${namespace}/${name}`;
    const now = this.#now();
    const hit = this.#entries.get(key);
    // A Secret that did not exist is looked for again soon, whatever the caller would accept.
    const maxAge = hit?.missing ? Math.min(maxAgeMs, DEFAULT_MAX_AGE_MS) : maxAgeMs;
    if (hit && now - hit.at <= maxAge) return hit.labels;
    const labels = this.#client
      .request<{ metadata?: { labels?: Record<string, string> } }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${encodeURIComponent(name)}` })
      .then((s): SecretLabels => s.metadata?.labels ?? {}, (err: unknown) => {
        if (isStatus(err, 404)) return null;
        this.#entries.delete(key);
        throw err;
      });
    const entry: Entry = { at: now, labels };
    labels.then((l) => { entry.missing = l === null; }, () => {});
    this.#entries.set(key, entry);
    return labels;
  }

  /** Records labels read by someone else (the user reconciler reads the whole Secret anyway). */
  remember(namespace: string, name: string, labels: SecretLabels): void {
    this.#entries.set(`${namespace}/${name}`, { at: this.#now(), labels: Promise.resolve(labels), missing: labels === null });
  }

  /** The labels of each named Secret, read (or remembered) at once, for a pure decision. */
  async lookup(namespace: string, names: readonly string[], maxAgeMs = DEFAULT_MAX_AGE_MS): Promise<(secret: string) => SecretLabels> {
    const unique = [...new Set(names)];
    const labels = new Map(await Promise.all(unique.map(async (n) => [n, await this.labels(namespace, n, maxAgeMs)] as const)));
    return (secret) => labels.get(secret) ?? null;
  }

  /**
   * Splits refs into the Secrets the pool may use and the refusals. For the edge's Role a known
   * answer of any age will do (maxAgeMs Infinity): the users' and devices' own reconciles refresh
   * it, and the edge checks the label again on every read.
   */
  async poolSecrets(namespace: string, pool: string, refs: readonly SecretReference[], maxAgeMs = DEFAULT_MAX_AGE_MS): Promise<PoolSecrets> {
    return poolSecrets(refs, pool, await this.lookup(namespace, refs.map((r) => r.name), maxAgeMs));
  }
}
