// The one HTTP client of the CLI: attaches the API key, turns error bodies into ApiError and unreachable servers into
// NetworkError, validates every response it reads, and follows `next_page_uri` to the end of every list.
import { z } from 'zod';
import {
  type CreateEndpointBody,
  CreatedApiKeySchema,
  type Endpoint,
  EndpointSchema,
  ErrorBodySchema,
  HealthSchema,
  type IpCategory,
  IpCategorySchema,
  type Me,
  MeSchema,
  type PolicyVersion,
  PolicyVersionSchema,
  type Role,
  SessionSchema,
  type UpdateEndpointBody,
} from './api-schemas.js';
import { ApiError, CliError, NetworkError, UsageError } from './cli-errors.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:4000';
const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest page the API serves; fewer round trips when following a list to the end. */
const PAGE_LIMIT = 500;
const SESSION_COOKIE = 'gatehouse_session';

/**
 * `http://host:4000`, `http://host:4000/` and `http://host:4000/api` all name the same install; the CLI keeps the form
 * without `/api` (what the README and GATEHOUSE_API_URL use) and appends `/api` itself.
 */
export function normalizeApiUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(`"${text}" is not a URL (expected e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the API URL must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.search !== '' || url.hash !== '') throw new UsageError('the API URL must not have a query or fragment');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
  return `${url.origin}${path}`;
}

export interface ApiClientOptions {
  /** Normalized with normalizeApiUrl. */
  apiUrl: string;
  apiKey?: string;
  /** `gatehouse_session=…`, only between `login` and the creation of the CLI's API key. */
  sessionCookie?: string;
  timeoutMs?: number;
}

interface RequestInit {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = error instanceof Error ? error.cause : undefined;
  const first = cause instanceof AggregateError ? (cause.errors[0] as unknown) : cause;
  if (first instanceof Error) {
    const code = (first as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${first.message})` : first.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export class ApiClient {
  readonly apiUrl: string;
  readonly #apiKey: string | undefined;
  readonly #sessionCookie: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.apiUrl = options.apiUrl;
    this.#apiKey = options.apiKey;
    this.#sessionCookie = options.sessionCookie;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** A client for the same API that authenticates with `apiKey` instead. */
  withApiKey(apiKey: string): ApiClient {
    return new ApiClient({ apiUrl: this.apiUrl, apiKey, timeoutMs: this.#timeoutMs });
  }

  withSessionCookie(sessionCookie: string): ApiClient {
    return new ApiClient({ apiUrl: this.apiUrl, sessionCookie, timeoutMs: this.#timeoutMs });
  }

  /** `/endpoints` → `http://host:4000/api/endpoints`; `next_page_uri` values (`/api/…`) keep any path prefix of the URL. */
  urlFor(path: string, query: RequestInit['query'] = {}): string {
    const relative = path.startsWith('/api/') ? path.slice('/api'.length) : path;
    const url = new URL(`${this.apiUrl}/api${relative}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** Sends a request; answers the response when it is 2xx and throws ApiError / NetworkError otherwise. */
  async send(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const url = this.urlFor(path, init.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    if (this.#sessionCookie !== undefined) headers.cookie = this.#sessionCookie;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        // The API never redirects; following one would resend the API key to wherever it points.
        redirect: 'manual',
      });
    } catch (error) {
      throw new NetworkError(url, describeFetchFailure(error));
    }
    if (response.ok) return response;
    throw await this.#toApiError(method, url, response);
  }

  async #toApiError(method: string, url: string, response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const body = ErrorBodySchema.safeParse(parsed);
    if (body.success) {
      return new ApiError(
        response.status,
        body.data.error_code,
        body.data.message,
        body.data.details,
        body.data.request_id,
      );
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      // Typically a proxy sending http:// to https://: say where, rather than follow it with the key.
      return new ApiError(
        response.status,
        `HTTP_${response.status}`,
        `${method} ${url} redirects to ${location}; use that address as --api-url`,
      );
    }
    // Not the API's error shape: a proxy, a wrong --api-url, or another service on that port.
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    return new ApiError(
      response.status,
      `HTTP_${response.status}`,
      `${method} ${url} answered ${response.status} ${response.statusText}${snippet === '' ? '' : `: ${snippet}`} (is this a Gatehouse API?)`,
    );
  }

  /** A request whose JSON response is validated with `schema`. */
  async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    init: RequestInit = {},
  ): Promise<z.output<S>> {
    const response = await this.send(method, path, init);
    return this.#parse(method, response, schema);
  }

  async #parse<S extends z.ZodType>(method: string, response: Response, schema: S): Promise<z.output<S>> {
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new CliError(`${method} ${response.url} did not answer JSON (is this a Gatehouse API?)`);
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      throw new CliError(
        `unexpected response from ${method} ${response.url} (is the CLI older than the API?)`,
        1,
        result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
      );
    }
    return result.data;
  }

  /** Every item of a paginated list, following `next_page_uri` until it is null. */
  async listAll<S extends z.ZodType>(
    path: string,
    key: string,
    itemSchema: S,
    query: RequestInit['query'] = {},
  ): Promise<z.output<S>[]> {
    const pageSchema = z.object({ [key]: z.array(itemSchema), next_page_uri: z.string().nullable() });
    const items: z.output<S>[] = [];
    const seen = new Set<string>();
    let next: { path: string; query: RequestInit['query'] } | null = { path, query: { limit: PAGE_LIMIT, ...query } };
    while (next !== null) {
      const page = (await this.call('GET', next.path, pageSchema, { query: next.query })) as Record<string, unknown> & {
        next_page_uri: string | null;
      };
      items.push(...(page[key] as z.output<S>[]));
      const uri = page.next_page_uri;
      if (uri === null) break;
      // A server that hands out the same cursor twice would otherwise keep the CLI looping forever.
      if (seen.has(uri)) throw new CliError(`the API returned the page ${uri} twice while listing ${path}`);
      seen.add(uri);
      next = { path: uri, query: {} };
    }
    return items;
  }

  // --- auth and API keys -------------------------------------------------------------------------------------------

  /** Logs in and answers the session cookie (the CLI only uses it to mint an API key, then ends the session). */
  async login(email: string, password: string): Promise<{ cookie: string; role: Role; email: string }> {
    const response = await this.send('POST', '/auth/login', { body: { email, password } });
    const session = await this.#parse('POST', response, SessionSchema);
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(';')[0] ?? '')
      .find((pair) => pair.startsWith(`${SESSION_COOKIE}=`));
    if (cookie === undefined) throw new CliError('the API accepted the login but set no session cookie');
    return { cookie, role: session.user.role, email: session.user.email };
  }

  async logoutSession(): Promise<void> {
    await this.send('POST', '/auth/logout');
  }

  me(): Promise<Me> {
    return this.call('GET', '/auth/me', MeSchema);
  }

  createApiKey(description: string, role: Role): Promise<z.output<typeof CreatedApiKeySchema>> {
    return this.call('POST', '/api-keys', CreatedApiKeySchema, { body: { description, role } });
  }

  async deleteApiKey(id: string): Promise<void> {
    await this.send('DELETE', `/api-keys/${encodeURIComponent(id)}`);
  }

  health(): Promise<z.output<typeof HealthSchema>> {
    return this.call('GET', '/health', HealthSchema);
  }

  // --- endpoints and policy versions ---------------------------------------------------------------------------------

  listEndpoints(filter: { type?: string; url?: string } = {}): Promise<Endpoint[]> {
    return this.listAll('/endpoints', 'endpoints', EndpointSchema, filter);
  }

  getEndpoint(id: string): Promise<Endpoint> {
    return this.call('GET', `/endpoints/${encodeURIComponent(id)}`, EndpointSchema);
  }

  async findEndpointByUrl(url: string): Promise<Endpoint | null> {
    const found = await this.listEndpoints({ url });
    return found[0] ?? null;
  }

  createEndpoint(body: CreateEndpointBody): Promise<Endpoint> {
    return this.call('POST', '/endpoints', EndpointSchema, { body });
  }

  updateEndpoint(id: string, body: UpdateEndpointBody): Promise<Endpoint> {
    return this.call('PATCH', `/endpoints/${encodeURIComponent(id)}`, EndpointSchema, { body });
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.send('DELETE', `/endpoints/${encodeURIComponent(id)}`);
  }

  /** Every version, newest first (the API's order). */
  listPolicyVersions(endpointId: string): Promise<PolicyVersion[]> {
    return this.listAll(
      `/endpoints/${encodeURIComponent(endpointId)}/policy-versions`,
      'versions',
      PolicyVersionSchema,
    );
  }

  getPolicyVersion(endpointId: string, version: number): Promise<PolicyVersion> {
    return this.call(
      'GET',
      `/endpoints/${encodeURIComponent(endpointId)}/policy-versions/${version}`,
      PolicyVersionSchema,
    );
  }

  createPolicyVersion(endpointId: string, trafficPolicy: string, message: string): Promise<PolicyVersion> {
    return this.call('POST', `/endpoints/${encodeURIComponent(endpointId)}/policy-versions`, PolicyVersionSchema, {
      body: { traffic_policy: trafficPolicy, message },
    });
  }

  restorePolicyVersion(endpointId: string, version: number, message?: string): Promise<PolicyVersion> {
    return this.call(
      'POST',
      `/endpoints/${encodeURIComponent(endpointId)}/policy-versions/${version}/restore`,
      PolicyVersionSchema,
      { body: message === undefined ? {} : { message } },
    );
  }

  // --- IP categories ---------------------------------------------------------------------------------------------------

  listIpCategories(): Promise<IpCategory[]> {
    return this.listAll('/ip-categories', 'ip_categories', IpCategorySchema);
  }

  putIpCategory(name: string, cidrs: readonly string[], description: string): Promise<IpCategory> {
    return this.call('PUT', `/ip-categories/${encodeURIComponent(name)}`, IpCategorySchema, {
      body: { cidrs, description },
    });
  }

  async deleteIpCategory(name: string): Promise<void> {
    await this.send('DELETE', `/ip-categories/${encodeURIComponent(name)}`);
  }
}

/**
 * An endpoint named on the command line: its id (`ep_…`), its URL, or a bare host (tried as https:// then http://).
 */
export async function resolveEndpoint(client: ApiClient, reference: string): Promise<Endpoint> {
  if (/^ep_[A-Za-z0-9]+$/.test(reference)) return client.getEndpoint(reference);
  if (reference.includes('://')) {
    const found = await client.findEndpointByUrl(reference);
    if (found === null) throw new CliError(`no endpoint has the URL ${reference}`);
    return found;
  }
  const candidates = (
    await Promise.all([`https://${reference}`, `http://${reference}`].map((url) => client.findEndpointByUrl(url)))
  ).filter((endpoint): endpoint is Endpoint => endpoint !== null);
  const [only, other] = candidates;
  if (only === undefined) throw new CliError(`no endpoint has the id or host ${reference}`);
  if (other !== undefined) {
    throw new CliError(`${reference} is ambiguous: name ${only.url} or ${other.url}`);
  }
  return only;
}
