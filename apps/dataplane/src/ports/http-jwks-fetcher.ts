import type { JwksFetcher } from '@gatehouse/traffic-policy';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { OutboundRefusedError, type OutboundGuard } from './outbound-guard.js';

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
  /** The data plane's dispatcher, whose connector applies the outbound rules to the address actually dialed. */
  dispatcher?: Dispatcher;
  /** The outbound rules: a JWKS URL must be https unless the allow list names its host (checked before fetching). */
  outbound?: OutboundGuard;
  /** Where fetch failures are told in full (the request and its trace only get a generic error). */
  logger?: Logger;
  now?: () => number;
}

/**
 * What the engine (and so the decision trace, and a policy that interpolates the action's result) gets when the keys
 * cannot be fetched: one sentence, the same for a refused URL, a closed port, a timeout or a bad document, so the
 * failure is no oracle for probing the network. The real reason is in the data plane's log.
 */
export class JwksUnavailableError extends Error {
  constructor() {
    super('the JWKS could not be fetched (the reason is in the data plane log)');
    this.name = 'JwksUnavailableError';
  }
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
      return await this.#download(url, entry);
    } catch (error) {
      this.options.logger?.warn({ err: error, jwksUrl: url }, 'JWKS fetch failed');
      throw new JwksUnavailableError();
    } finally {
      entry.pending = undefined;
    }
  }

  async #download(url: string, entry: CacheEntry): Promise<readonly JsonWebKey[]> {
    const verdict = this.options.outbound?.checkFetchUrl(url);
    if (verdict !== undefined && !verdict.allowed) throw new OutboundRefusedError(verdict);
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
  }
}
