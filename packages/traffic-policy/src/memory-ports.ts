import type { ClientGeo } from '@gatehouse/contracts';
import type { IpIntelligence, IpIntelligenceRecord } from './cel-values.js';
import {
  admitsRequest,
  type CircuitBreakers,
  type CircuitBreakerSettings,
  type Clock,
  type IdentityProviderClient,
  type OpenIdProviderMetadata,
  type SessionKeyring,
  type HttpRequester,
  type SideCallRequest,
  type SideCallResult,
  type InternalEndpointDirectory,
  type Jwk,
  type JwksFetcher,
  type RateLimitStore,
  type SlidingWindowCounts,
} from './ports.js';

/** In-process implementations of the ports: for tests, the embedded shape and the data plane's Redis fallback. */

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
  set(epochMilliseconds: number): void {
    this.current = epochMilliseconds;
  }
}

/** Sliding-window counters in a Map; windows older than the previous one are dropped as keys are touched. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, { index: number; current: number; previous: number }>();
  #lastSweep = 0;

  consume(
    key: string,
    { capacity, windowMs, nowMs }: { capacity: number; windowMs: number; nowMs: number },
  ): Promise<SlidingWindowCounts> {
    return Promise.resolve(this.consumeNow(key, capacity, windowMs, nowMs));
  }

  /** The synchronous core, also used directly by the data plane's fallback path. */
  consumeNow(key: string, capacity: number, windowMs: number, nowMs: number): SlidingWindowCounts {
    const state = this.#window(key, windowMs, nowMs);
    const admitted = admitsRequest(state.previous, state.current, (nowMs % windowMs) / windowMs, capacity);
    if (admitted) state.current++;
    this.#sweep(nowMs);
    return { previous: state.previous, current: state.current, admitted };
  }

  check(
    key: string,
    { capacity, windowMs, nowMs }: { capacity: number; windowMs: number; nowMs: number },
  ): Promise<SlidingWindowCounts> {
    return Promise.resolve(this.checkNow(key, capacity, windowMs, nowMs));
  }

  /** The synchronous core of `check` (also the data plane's fallback path). */
  checkNow(key: string, capacity: number, windowMs: number, nowMs: number): SlidingWindowCounts {
    const state = this.#window(key, windowMs, nowMs);
    const admitted = admitsRequest(state.previous, state.current, (nowMs % windowMs) / windowMs, capacity);
    return { previous: state.previous, current: state.current, admitted };
  }

  charge(key: string, { windowMs, nowMs }: { windowMs: number; nowMs: number }, units: number): Promise<void> {
    this.chargeNow(key, windowMs, nowMs, units);
    return Promise.resolve();
  }

  chargeNow(key: string, windowMs: number, nowMs: number, units: number): void {
    this.#window(key, windowMs, nowMs).current += units;
    this.#sweep(nowMs);
  }

  /** The bucket's counts with the window rolled forward to `nowMs`. */
  #window(key: string, windowMs: number, nowMs: number): { index: number; current: number; previous: number } {
    const index = Math.floor(nowMs / windowMs);
    const storeKey = `${windowMs}:${key}`;
    let state = this.#windows.get(storeKey);
    if (state === undefined) this.#windows.set(storeKey, (state = { index, current: 0, previous: 0 }));
    else if (state.index !== index) {
      state.previous = state.index === index - 1 ? state.current : 0;
      state.current = 0;
      state.index = index;
    }
    return state;
  }

  get size(): number {
    return this.#windows.size;
  }

  /** Drops buckets idle for more than two windows, at most once a minute, so memory follows the active clients. */
  #sweep(nowMs: number): void {
    if (nowMs - this.#lastSweep < 60_000) return;
    this.#lastSweep = nowMs;
    for (const [storeKey, state] of this.#windows) {
      const windowMs = Number(storeKey.slice(0, storeKey.indexOf(':')));
      if (Math.floor(nowMs / windowMs) - state.index > 1) this.#windows.delete(storeKey);
    }
  }
}

/** The engine's record for a recorded or stated `ClientGeo` (contracts: snake_case, as the API and files carry it). */
export function ipRecordOf(geo: ClientGeo): IpIntelligenceRecord {
  const record: { -readonly [K in keyof IpIntelligenceRecord]: IpIntelligenceRecord[K] } = {};
  if (geo.city !== undefined) record.city = geo.city;
  if (geo.country !== undefined) record.country = geo.country;
  if (geo.country_code !== undefined) record.countryCode = geo.country_code;
  if (geo.continent !== undefined) record.continent = geo.continent;
  if (geo.registered_country_code !== undefined) record.registeredCountryCode = geo.registered_country_code;
  if (geo.latitude !== undefined) record.latitude = geo.latitude;
  if (geo.longitude !== undefined) record.longitude = geo.longitude;
  if (geo.radius_km !== undefined) record.radiusKm = geo.radius_km;
  if (geo.subdivision !== undefined) record.subdivision = geo.subdivision;
  if (geo.as_number !== undefined) record.asNumber = geo.as_number;
  if (geo.as_organization !== undefined) record.asOrganization = geo.as_organization;
  return record;
}

/** The `ClientGeo` a data plane records for replays; undefined when nothing is known. */
export function clientGeoOf(record: IpIntelligenceRecord): ClientGeo | undefined {
  const geo: ClientGeo = {};
  if (record.city !== undefined) geo.city = record.city;
  if (record.country !== undefined) geo.country = record.country;
  if (record.countryCode !== undefined) geo.country_code = record.countryCode;
  if (record.continent !== undefined) geo.continent = record.continent;
  if (record.registeredCountryCode !== undefined) geo.registered_country_code = record.registeredCountryCode;
  if (record.latitude !== undefined) geo.latitude = record.latitude;
  if (record.longitude !== undefined) geo.longitude = record.longitude;
  if (record.radiusKm !== undefined) geo.radius_km = record.radiusKm;
  if (record.subdivision !== undefined) geo.subdivision = record.subdivision;
  if (record.asNumber !== undefined) geo.as_number = record.asNumber;
  if (record.asOrganization !== undefined) geo.as_organization = record.asOrganization;
  return Object.keys(geo).length === 0 ? undefined : geo;
}

/**
 * Geo/AS records by exact address, for tests, policy tests and replays: a replay has the country its recording kept,
 * a policy test the records its cases state. An address without a record reads as unknown (every field empty).
 */
export class StaticIpIntelligence implements IpIntelligence {
  constructor(private readonly records: ReadonlyMap<string, IpIntelligenceRecord>) {}
  lookup(address: string): IpIntelligenceRecord | undefined {
    return this.records.get(address);
  }
}

export class StaticJwksFetcher implements JwksFetcher {
  constructor(private readonly keysByUrl: ReadonlyMap<string, readonly Jwk[]>) {}
  keys(url: string): Promise<readonly Jwk[]> {
    const keys = this.keysByUrl.get(url);
    return keys === undefined ? Promise.reject(new Error(`no JWKS at ${url}`)) : Promise.resolve(keys);
  }
}

export class SetInternalEndpointDirectory implements InternalEndpointDirectory {
  constructor(private readonly urls: ReadonlySet<string>) {}
  has(url: string): boolean {
    return this.urls.has(url);
  }
}

interface BreakerState {
  bucketMs: number;
  buckets: { start: number; total: number; failed: number }[];
  openUntil: number;
}

/** Ten buckets per window (as ngrok documents); trips when volume and error share both reach their thresholds. */
export class MemoryCircuitBreakers implements CircuitBreakers {
  readonly #states = new Map<string, BreakerState>();

  isOpen(key: string, settings: CircuitBreakerSettings, nowMs: number): boolean {
    const state = this.#state(key, settings);
    if (nowMs < state.openUntil) return true;
    const live = state.buckets.filter((bucket) => nowMs - bucket.start < settings.windowMs);
    const total = live.reduce((sum, bucket) => sum + bucket.total, 0);
    const failed = live.reduce((sum, bucket) => sum + bucket.failed, 0);
    if (total >= settings.volumeThreshold && failed / total >= settings.errorThreshold) {
      state.openUntil = nowMs + settings.trippedMs;
      state.buckets = [];
      return true;
    }
    return false;
  }

  record(key: string, failed: boolean, nowMs: number): void {
    const state = this.#states.get(key);
    if (state === undefined) return;
    const start = nowMs - (nowMs % state.bucketMs);
    let bucket = state.buckets.at(-1);
    if (bucket?.start !== start) {
      state.buckets.push((bucket = { start, total: 0, failed: 0 }));
      if (state.buckets.length > 10) state.buckets.shift();
    }
    bucket.total++;
    if (failed) bucket.failed++;
  }

  #state(key: string, settings: CircuitBreakerSettings): BreakerState {
    let state = this.#states.get(key);
    if (state === undefined)
      this.#states.set(key, (state = { bucketMs: Math.max(1, settings.windowMs / 10), buckets: [], openUntil: 0 }));
    return state;
  }
}

/**
 * An identity provider for policy tests and the editor: discovery answers for any issuer with endpoints under it, so
 * a sign-in action validates and an unauthenticated request shows its redirect; the token and userinfo endpoints
 * refuse (a policy test cannot complete a browser sign-in), which the actions turn into AUTH_PROVIDER_UNAVAILABLE.
 */
export class OfflineIdentityProviderClient implements IdentityProviderClient {
  discover(issuerUrl: string): Promise<OpenIdProviderMetadata> {
    const base = issuerUrl.replace(/\/$/, '');
    return Promise.resolve({
      issuer: issuerUrl,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks`,
      userinfo_endpoint: `${base}/userinfo`,
    });
  }
  requestToken(): Promise<never> {
    return Promise.reject(new Error('the token endpoint is not reachable from a policy test'));
  }
  fetchUserinfo(): Promise<never> {
    return Promise.reject(new Error('the userinfo endpoint is not reachable from a policy test'));
  }
}

/**
 * A keyring with one fixed, public secret: only for policy tests and the editor, where cookies never leave the
 * simulation. The data plane derives its own from its token.
 */
export const policyTestSessionKeys: SessionKeyring = Object.freeze({
  secrets: Object.freeze([{ id: 'policy-test', secret: new TextEncoder().encode('gatehouse policy tests only') }]),
});

/**
 * http-request without a network, deterministic: a URL in the table gets its scripted result (the first entry whose
 * URL equals the request's, or equals it without the query), any other URL the same stand-in answer as a forwarded
 * request in a policy test: 200, no headers, empty body. Every request is kept in `sent` for assertions.
 */
export class ScriptedHttpRequester implements HttpRequester {
  readonly sent: SideCallRequest[] = [];

  constructor(private readonly script: ReadonlyMap<string, SideCallResult> = new Map()) {}

  send(request: SideCallRequest): Promise<SideCallResult> {
    if (this.sent.length < 1000) this.sent.push(request);
    const withoutQuery = request.url.split('?', 1)[0]!;
    const scripted = this.script.get(request.url) ?? this.script.get(withoutQuery);
    return Promise.resolve(
      scripted ?? { ok: true, response: { statusCode: 200, headers: {}, body: '', resolvedIp: '', timeMs: 0 } },
    );
  }
}
