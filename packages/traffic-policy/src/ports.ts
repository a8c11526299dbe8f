import type { IpCategoryResolver } from './cel-values.js';

/**
 * Effects that need I/O or shared state are ports: the engine declares them, the data plane implements them (Redis,
 * HTTP), and `memory-ports.ts` has in-process versions for tests and the embedded shape.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface SlidingWindowCounts {
  /** Requests admitted in the previous fixed window. */
  previous: number;
  /** Requests admitted in the current fixed window, including this one when admitted. */
  current: number;
  admitted: boolean;
}

export interface RateLimitWindow {
  capacity: number;
  windowMs: number;
  nowMs: number;
  /**
   * How a shared store may count (the action's `mode`): `exact` asks the shared counter for every request; `leased`
   * lets a process admit locally against units it reserved on the shared counter beforehand (never more than the
   * exact rule allows; unused units of a window are lost). Stores without sharing ignore it. Absent means `exact`.
   */
  mode?: 'exact' | 'leased';
}

/**
 * Sliding-window counters. `consume` must be atomic: read both windows, decide with `admitsRequest`, and count the
 * request only when admitted (so a client that keeps hammering still gets `capacity` requests per window through).
 * With Redis this is one Lua round trip shared by every data plane.
 */
export interface RateLimitStore {
  consume(key: string, window: RateLimitWindow): Promise<SlidingWindowCounts>;
}

/**
 * A JSON Web Key as found in a JWKS document. Declared here rather than taken from the DOM library's `JsonWebKey`,
 * which Node-only consumers (the data plane) do not have.
 */
export interface Jwk {
  kty?: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  [member: string]: unknown;
}

export interface JwksFetcher {
  /** The keys of a JWKS URL; implementations cache and refresh. Rejects when the keys cannot be had. */
  keys(url: string): Promise<readonly Jwk[]>;
}

/** Which internal endpoints exist; forward-internal asks before it commits to forwarding. */
export interface InternalEndpointDirectory {
  has(url: string): boolean;
  /**
   * An agent endpoint that exists but whose agent is not connected here: forward-internal fails with
   * ENDPOINT_OFFLINE (or continues, with `on_error: continue`). Absent: every registered endpoint is online.
   */
  isOffline?(url: string): boolean;
}

export interface CircuitBreakerSettings {
  errorThreshold: number;
  volumeThreshold: number;
  windowMs: number;
  trippedMs: number;
}

/** Per-process circuit breaker state; the data plane feeds it the upstream result of each request it let through. */
export interface CircuitBreakers {
  isOpen(key: string, settings: CircuitBreakerSettings, nowMs: number): boolean;
  record(key: string, failed: boolean, nowMs: number): void;
}

/** The two wire formats the ai-gateway action speaks; the request path decides which one a request uses. */
export type AiWireFormat = 'openai' | 'anthropic';

/** One attempt of the ai-gateway action: a provider request the data plane sends and holds until it commits. */
export interface AiProviderRequest {
  /** Where to send it: an http(s) URL, or (`internal`) an internal endpoint URL followed by the path and query. */
  readonly url: string;
  /** True when `url` starts with an internal endpoint's URL: dispatched like forward-internal (agent endpoints too). */
  readonly internal: boolean;
  readonly method: 'POST';
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
  readonly format: AiWireFormat;
  /** The attempt fails with a timeout unless the response's head and first body bytes arrive within this. */
  readonly timeoutMs: number;
}

/**
 * A provider response the data plane holds, unsent: its status is known, its head and first body bytes arrived.
 * The engine either hands it to the client (the `provider-response` outcome; the data plane streams it) or discards
 * it to fail over. Nothing has reached the client while the engine decides, which is what makes failover safe.
 */
export interface AiProviderResponse {
  readonly status: number;
  /** Aborts the provider request and drops what was buffered. */
  discard(): void;
}

export type AiProviderAttempt =
  | { readonly kind: 'response'; readonly response: AiProviderResponse }
  | {
      readonly kind: 'failed';
      /** `timeout`: no head and first bytes within the attempt's time; `connection`: refused, reset, DNS, TLS. */
      readonly reason: 'timeout' | 'connection' | 'forbidden' | 'target-offline';
      /** Secret-free: never the key, never the provider's body. */
      readonly message: string;
    };

/** Sends ai-gateway attempts (the data plane's undici pools and agent tunnels, under the outbound guard). */
export interface AiProviders {
  send(request: AiProviderRequest): Promise<AiProviderAttempt>;
}

export interface PolicyPorts {
  clock: Clock;
  rateLimits: RateLimitStore;
  ipCategories: IpCategoryResolver;
  jwks: JwksFetcher;
  internalEndpoints: InternalEndpointDirectory;
  circuitBreakers: CircuitBreakers;
  /** Absent where nothing can reach a provider (validation, the dashboard): ai-gateway then answers 502. */
  aiProviders?: AiProviders;
}

/** The sliding-window rule shared by every RateLimitStore (the Redis Lua script implements the same formula). */
export function admitsRequest(previous: number, current: number, elapsedFraction: number, capacity: number): boolean {
  return previous * (1 - elapsedFraction) + current + 1 <= capacity;
}

/** Seconds until `admitsRequest` holds again if nothing else is admitted meanwhile (at least 1). */
export function retryAfterSeconds(counts: SlidingWindowCounts, window: RateLimitWindow): number {
  const { capacity, windowMs, nowMs } = window;
  const elapsed = nowMs % windowMs;
  const untilNextWindow = windowMs - elapsed;
  let waitMs: number;
  if (counts.current + 1 <= capacity && counts.previous > 0) {
    // The previous window's weight has to decay: previous·(1 − f) + current + 1 ≤ capacity.
    const fraction = 1 - (capacity - counts.current - 1) / counts.previous;
    waitMs = Math.max(0, fraction * windowMs - elapsed);
  } else {
    // The current window alone is full; it becomes the previous one and decays: current·(1 − g) + 1 ≤ capacity.
    const fraction = counts.current > 0 ? Math.max(0, 1 - (capacity - 1) / counts.current) : 0;
    waitMs = untilNextWindow + fraction * windowMs;
  }
  return Math.max(1, Math.ceil(waitMs / 1000));
}
