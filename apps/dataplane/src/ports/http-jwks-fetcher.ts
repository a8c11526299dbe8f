import type { JwksFetcher } from '@gatehouse/traffic-policy';
import { request, type Dispatcher } from 'undici';

/** A JWK as parsed JSON (the engine's port speaks the DOM's JsonWebKey; the data plane does not load the DOM library). */
interface JsonWebKey {
  kty?: string;
  [member: string]: unknown;
}

interface CacheEntry {
  keys: readonly JsonWebKey[] | undefined;
  fetchedAt: number;
  pending: Promise<readonly JsonWebKey[]> | undefined;
}

export interface HttpJwksFetcherOptions {
  /** Keys are fresh this long; after it they are refreshed in the background while the cached ones keep serving. */
  ttlMs?: number;
  /** A failed refresh keeps serving the old keys up to this age (the issuer's JWKS being briefly down is common). */
  maxStaleMs?: number;
  timeoutMs?: number;
  maxEntries?: number;
  dispatcher?: Dispatcher;
  now?: () => number;
}

/**
 * JWKS over HTTP for jwt-validation: cached per URL, refreshed in the background once stale (requests never wait for
 * a refresh when they have keys), concurrent misses share one fetch, and old keys survive a failed refresh for a while.
 */
export class HttpJwksFetcher implements JwksFetcher {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #ttlMs: number;
  readonly #maxStaleMs: number;
  readonly #timeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(private readonly options: HttpJwksFetcherOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#maxStaleMs = options.maxStaleMs ?? 60 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  keys(url: string): Promise<readonly JsonWebKey[]> {
    const now = this.#now();
    let entry = this.#cache.get(url);
    if (entry === undefined) {
      if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(url, (entry = { keys: undefined, fetchedAt: 0, pending: undefined }));
    }
    const age = now - entry.fetchedAt;
    if (entry.keys !== undefined && age < this.#ttlMs) return Promise.resolve(entry.keys);
    const refresh = (entry.pending ??= this.#fetch(url, entry));
    // Stale but usable keys answer now; the refresh completes in the background.
    if (entry.keys !== undefined && age < this.#maxStaleMs) {
      refresh.catch(() => undefined);
      return Promise.resolve(entry.keys);
    }
    return refresh;
  }

  async #fetch(url: string, entry: CacheEntry): Promise<readonly JsonWebKey[]> {
    try {
      const response = await request(url, {
        method: 'GET',
        headers: { accept: 'application/jwk-set+json, application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new Error(`JWKS ${url} answered ${response.statusCode}`);
      }
      const document = (await response.body.json()) as { keys?: unknown };
      if (!Array.isArray(document.keys)) throw new Error(`JWKS ${url} has no keys array`);
      const keys = Object.freeze(
        document.keys.filter((key): key is JsonWebKey => key !== null && typeof key === 'object'),
      );
      entry.keys = keys;
      entry.fetchedAt = this.#now();
      return keys;
    } finally {
      entry.pending = undefined;
    }
  }
}
