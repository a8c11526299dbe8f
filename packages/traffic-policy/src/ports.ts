import type { IpCategoryResolver, IpIntelligence } from './cel-values.js';

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
  /**
   * Weighted limits (the action's `cost`): whether one more unit fits (`admitsRequest`) without counting anything;
   * what the request uses is charged once known. `admitted` reports the verdict, `current` the window's count. In
   * leased mode a store may answer from units it reserved (and reserve more when it has none left).
   */
  check(key: string, window: RateLimitWindow): Promise<SlidingWindowCounts>;
  /**
   * Adds `units` to the current window whether or not they fit: a charge for work already done (tokens a provider
   * reported), which can take a bucket past its capacity so the next requests wait for the debt to decay. In leased
   * mode units this process reserved are spent first.
   */
  charge(key: string, window: RateLimitWindow, units: number): Promise<void>;
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

/**
 * Signing certificates a webhook names by URL (Amazon SNS's `SigningCertURL`). The implementation decides which URLs
 * it fetches (SNS: `https://sns.<region>.amazonaws.com/…` only, as AWS requires, plus what the operator allows), goes
 * through the outbound rules, caches, and checks the certificate's validity dates. Rejects when there is no usable
 * certificate; the engine then refuses the webhook.
 */
export interface WebhookCertificateFetcher {
  /** The certificate's public key as DER SubjectPublicKeyInfo. */
  publicKey(url: string): Promise<Uint8Array>;
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

/** The members of an OpenID Provider Configuration Document the sign-in actions use (OpenID Connect Discovery 1.0). */
export interface OpenIdProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  id_token_signing_alg_values_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
}

/** A token endpoint call: the form to post and, for `client_secret_basic`, the client credentials to send. */
export interface TokenRequest {
  form: Record<string, string>;
  basicAuth?: { clientId: string; clientSecret: string };
}

/**
 * The identity provider's HTTP endpoints, for openid-connect and oauth. The data plane implements it with the outbound
 * rules (an issuer or token URL is dialed like a JWKS URL); implementations never put response bodies or secrets in
 * the errors they reject with, which reach the decision trace.
 */
export interface IdentityProviderClient {
  /** `${issuer}/.well-known/openid-configuration`, cached by implementations. Rejects when it cannot be had. */
  discover(issuerUrl: string): Promise<OpenIdProviderMetadata>;
  /** POSTs a form to a token endpoint; resolves with the HTTP status and the JSON object answered (`{}` if none). */
  requestToken(tokenUrl: string, request: TokenRequest): Promise<{ status: number; body: Record<string, unknown> }>;
  /** GETs a userinfo endpoint with a bearer access token; the status and the JSON object answered. */
  fetchUserinfo(url: string, accessToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * Secret bytes the sign-in actions derive their cookie keys from (per endpoint, per action and per purpose, with
 * HKDF). The first seals new cookies; every one opens cookies, so a new secret can be put first while the previous
 * one still opens the sessions it sealed. Ids name the secret in the cookie header (never the secret itself).
 */
export interface SessionKeyring {
  readonly secrets: readonly { readonly id: string; readonly secret: Uint8Array }[];
}

/** The methods ngrok's http-request action allows. */
export const sideCallMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type SideCallMethod = (typeof sideCallMethods)[number];

/** One attempt of an http-request action, every `${}` already rendered. */
export interface SideCallRequest {
  method: SideCallMethod;
  /** Absolute http(s) URL with the action's query parameters appended; a `.internal` host names an internal endpoint. */
  url: string;
  /** Lower-case names, in the order the policy wrote them. */
  headers: readonly (readonly [string, string])[];
  body: string | undefined;
  /** Redirects the port may follow (each target judged like the first); more is HTTP_REQUEST_TOO_MANY_REDIRECTS. */
  maxRedirects: number;
  /** What is left of the action's time budget for this attempt. */
  timeoutMs: number;
  /** The client the policy runs for (sent as X-Forwarded-For, as ngrok does). */
  clientIp: string;
  /**
   * The client request's side-call budget (`RequestFacts.sideCalls`): a port that runs another policy for the call
   * (an internal endpoint's) hands it on, so side calls made there count against the same request.
   */
  budget: { made: number };
}

export interface SideCallResponse {
  statusCode: number;
  /** Lower-case names. */
  headers: Record<string, string[]>;
  /** Decoded as UTF-8; never more than the port's body limit (larger is HTTP_REQUEST_RESPONSE_TOO_LARGE). */
  body: string;
  /** The peer address that answered ('' when the port cannot tell). */
  resolvedIp: string;
  timeMs: number;
}

/**
 * Why a side call got no response. The codes are what `actions.ngrok.http_request.error.code` shows, so they are
 * part of the policy language (README, "http-request").
 */
export const sideCallErrorCodes = {
  HTTP_REQUEST_INVALID_URL: 'The rendered URL is not an absolute http(s) URL.',
  HTTP_REQUEST_TARGET_UNKNOWN: 'A `.internal` URL names no internal endpoint with an upstream.',
  HTTP_REQUEST_FORBIDDEN: "The target is outside the outbound allow list, or is one of the gateway's own listeners.",
  HTTP_REQUEST_LOOP: 'The side call would come back into this gateway (CDN-Loop), or the hop limit was reached.',
  HTTP_REQUEST_UNAVAILABLE: 'The target refused the connection or failed mid-response.',
  HTTP_REQUEST_TIMEOUT: "The action's timeout passed before a response was read (retries included).",
  HTTP_REQUEST_RESPONSE_TOO_LARGE: 'The response body exceeded the size limit (256 KB, as ngrok).',
  HTTP_REQUEST_TOO_MANY_REDIRECTS: 'The target redirected more often than `max_redirects` allows.',
  HTTP_REQUEST_LIMIT_EXCEEDED: 'The request already made as many side calls as one request may make.',
} as const;
export type SideCallErrorCode = keyof typeof sideCallErrorCodes;

export type SideCallResult =
  { ok: true; response: SideCallResponse } | { ok: false; code: SideCallErrorCode; message: string };

/**
 * The I/O of the http-request action. The data plane's implementation dials through the outbound guard; the
 * in-memory one answers from a table, so policy tests and the editor run without a network. Never rejects.
 */
export interface HttpRequester {
  send(request: SideCallRequest): Promise<SideCallResult>;
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
  /** `conn.geo.*` and `conn.client_ip.as.*`; absent where no database is loaded (every field then reads empty). */
  ipIntelligence?: IpIntelligence;
  jwks: JwksFetcher;
  internalEndpoints: InternalEndpointDirectory;
  circuitBreakers: CircuitBreakers;
  identityProviders: IdentityProviderClient;
  sessionKeys: SessionKeyring;
  httpRequests: HttpRequester;
  /** Absent where nothing can fetch (validation, the dashboard, policy tests): SNS webhooks then fail to verify. */
  webhookCertificates?: WebhookCertificateFetcher;
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
