import type { IdentityProviderClient, OpenIdProviderMetadata, TokenRequest } from '@gatehouse/traffic-policy';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { OutboundRefusedError, type OutboundGuard } from './outbound-guard.js';

export interface HttpIdentityProviderOptions {
  /** Discovery documents are fresh this long; a failed refresh keeps serving the old one up to `maxStaleMs`. */
  ttlMs?: number;
  maxStaleMs?: number;
  timeoutMs?: number;
  maxEntries?: number;
  /** The data plane's dispatcher, whose connector applies the outbound rules to the address actually dialed. */
  dispatcher?: Dispatcher;
  /** The outbound rules: a provider URL must be https unless the allow list names its host. */
  outbound?: OutboundGuard;
  /** Where failures are told in full (the request and its trace only get a generic sentence). */
  logger?: Logger;
  now?: () => number;
}

/** The largest answer read from a provider: discovery documents and token answers are a few KiB. */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * What the engine (and so the decision trace) is told when a provider cannot be used: one sentence whatever the
 * cause, so the failure is no oracle for probing the network; the cause is in the data plane's log.
 */
export class IdentityProviderUnavailableError extends Error {
  constructor(what: string) {
    super(`the identity provider's ${what} could not be used (the reason is in the data plane log)`);
    this.name = 'IdentityProviderUnavailableError';
  }
}

interface DiscoveryEntry {
  metadata: OpenIdProviderMetadata | undefined;
  fetchedAt: number;
  pending: Promise<OpenIdProviderMetadata> | undefined;
}

/**
 * The sign-in actions' provider calls over HTTP, through the same outbound rules as upstreams and JWKS URLs:
 * discovery (cached per issuer, refreshed in the background, shared by concurrent misses), the token endpoint and
 * the userinfo endpoint (never cached: they carry one user's code or token).
 */
export class HttpIdentityProviderClient implements IdentityProviderClient {
  readonly #discovery = new Map<string, DiscoveryEntry>();
  readonly #ttlMs: number;
  readonly #maxStaleMs: number;
  readonly #timeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(private readonly options: HttpIdentityProviderOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#maxStaleMs = options.maxStaleMs ?? 24 * 60 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  discover(issuerUrl: string): Promise<OpenIdProviderMetadata> {
    const now = this.#now();
    let entry = this.#discovery.get(issuerUrl);
    if (entry === undefined) {
      if (this.#discovery.size >= this.#maxEntries) this.#discovery.delete(this.#discovery.keys().next().value!);
      this.#discovery.set(issuerUrl, (entry = { metadata: undefined, fetchedAt: 0, pending: undefined }));
    }
    const age = now - entry.fetchedAt;
    if (entry.metadata !== undefined && age < this.#ttlMs) return Promise.resolve(entry.metadata);
    const current = entry;
    const refresh = (entry.pending ??= this.#fetchDiscovery(issuerUrl, current).finally(() => {
      current.pending = undefined;
    }));
    if (entry.metadata !== undefined && age < this.#maxStaleMs) {
      refresh.catch(() => undefined);
      return Promise.resolve(entry.metadata);
    }
    return refresh;
  }

  async requestToken(
    tokenUrl: string,
    { form, basicAuth }: TokenRequest,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (basicAuth !== undefined) {
      // RFC 6749 2.3.1: both parts are form-urlencoded before they are joined and base64-encoded.
      const user = encodeURIComponent(basicAuth.clientId);
      const password = encodeURIComponent(basicAuth.clientSecret);
      headers['authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    return this.#call('token endpoint', tokenUrl, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form).toString(),
    });
  }

  fetchUserinfo(url: string, accessToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
    return this.#call('userinfo endpoint', url, {
      method: 'GET',
      headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` },
    });
  }

  async #fetchDiscovery(issuerUrl: string, entry: DiscoveryEntry): Promise<OpenIdProviderMetadata> {
    const url = `${issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const answer = await this.#call('discovery document', url, {
      method: 'GET',
      headers: { accept: 'application/json' },
    });
    const metadata = answer.status === 200 ? metadataOf(answer.body) : undefined;
    if (metadata === undefined) {
      this.options.logger?.warn(
        { issuerUrl, status: answer.status },
        'OpenID discovery answered without a usable configuration document',
      );
      throw new IdentityProviderUnavailableError('discovery document');
    }
    entry.metadata = metadata;
    entry.fetchedAt = this.#now();
    return metadata;
  }

  async #call(
    what: string,
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      const verdict = this.options.outbound?.checkFetchUrl(url);
      if (verdict !== undefined && !verdict.allowed) throw new OutboundRefusedError(verdict);
      const response = await request(url, {
        method: init.method,
        // GitHub's API refuses requests without a User-Agent.
        headers: { 'user-agent': 'gatehouse', ...init.headers },
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
      });
      const bytes = await readCapped(response.body);
      return { status: response.statusCode, body: jsonObject(bytes) };
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) throw error;
      this.options.logger?.warn({ err: error, url: withoutQuery(url) }, `identity provider ${what} failed`);
      throw new IdentityProviderUnavailableError(what);
    }
  }
}

async function readCapped(body: AsyncIterable<Uint8Array> & { destroy(): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** The answer as a JSON object; `{}` for anything else (an HTML error page, a form-encoded token answer). */
function jsonObject(bytes: Buffer): Record<string, unknown> {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function metadataOf(document: Record<string, unknown>): OpenIdProviderMetadata | undefined {
  const text = (name: string) => (typeof document[name] === 'string' ? document[name] : undefined);
  const list = (name: string) =>
    Array.isArray(document[name]) && document[name].every((item) => typeof item === 'string')
      ? document[name]
      : undefined;
  const issuer = text('issuer');
  const authorization = text('authorization_endpoint');
  const token = text('token_endpoint');
  const jwks = text('jwks_uri');
  if (issuer === undefined || authorization === undefined || token === undefined || jwks === undefined)
    return undefined;
  const metadata: OpenIdProviderMetadata = {
    issuer,
    authorization_endpoint: authorization,
    token_endpoint: token,
    jwks_uri: jwks,
  };
  const userinfo = text('userinfo_endpoint');
  if (userinfo !== undefined) metadata.userinfo_endpoint = userinfo;
  const endSession = text('end_session_endpoint');
  if (endSession !== undefined) metadata.end_session_endpoint = endSession;
  const algorithms = list('id_token_signing_alg_values_supported');
  if (algorithms !== undefined) metadata.id_token_signing_alg_values_supported = algorithms;
  const methods = list('token_endpoint_auth_methods_supported');
  if (methods !== undefined) metadata.token_endpoint_auth_methods_supported = methods;
  const challenges = list('code_challenge_methods_supported');
  if (challenges !== undefined) metadata.code_challenge_methods_supported = challenges;
  return metadata;
}

/** Logged URLs lose their query: a userinfo or token URL's query could carry something secret. */
function withoutQuery(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}
