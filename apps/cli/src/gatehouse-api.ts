// The calls the commands make to the REST API, through @gatehouse/api-client: every path, body and answer is typed from
// apps/api/openapi.json, and every failure arrives as its ApiError (printed in one place, cli.ts). This file adds only
// what the CLI decides: the API key or session cookie sent, the 30 s timeout, lists read to their end, and how an
// endpoint is named on the command line.
import {
  collectPages,
  createApiClient,
  cursorOf,
  type GatehouseApiClient,
  type Schemas,
  unwrap,
  unwrapAnswer,
} from '@gatehouse/api-client';
import { CliError, UsageError } from './cli-errors.js';

export type Endpoint = Schemas['Endpoint'];
/**
 * An endpoint people manage (cloud or internal). Agent endpoints belong to their agent sessions' config: declarative
 * files and exports leave them out, so `apply --prune` never tries to delete one.
 */
export type ManagedEndpoint = Endpoint & { type: 'cloud' | 'internal' };
export const isManagedEndpoint = (endpoint: Endpoint): endpoint is ManagedEndpoint => endpoint.type !== 'agent';
export type AgentSession = Schemas['AgentSession'];
export type PolicyVersion = Schemas['PolicyVersion'];
export type ReplayReport = Schemas['ReplayReport'];
export type ReplayRequestBody = Schemas['ReplayRequestBody'];
export type PolicyRuleStats = Schemas['PolicyRuleStats'];
export type ShadowPolicy = Schemas['ShadowPolicy'];
export type PublishShadowPolicyBody = Schemas['PublishShadowPolicyBody'];
export type PromoteShadowPolicyBody = Schemas['PromoteShadowPolicyBody'];
export type IpCategory = Schemas['IpCategory'];
export type RequestLogSummary = Schemas['RequestLogSummary'];
export type Authtoken = Schemas['Authtoken'];
export type Vault = Schemas['Vault'];
export type Secret = Schemas['Secret'];
export type Me = Schemas['Me'];
export type Role = Schemas['User']['role'];
export type UpstreamHostHeader = Endpoint['upstream_host_header'];
/** A capture setting with only the options to set; what a request leaves out keeps its value (or defaults to off). */
export type RequestLogCapturePatch = NonNullable<Schemas['UpdateEndpointBody']['request_log_capture']>;

/** The bodies of POST and PATCH /api/endpoints: only `url` is required, the API fills in what is left out. */
export type CreateEndpointBody = Schemas['CreateEndpointBody'];
export type UpdateEndpointBody = Schemas['UpdateEndpointBody'];

// Command-line values checked against the contract: a value the API drops fails to compile here.
export const roles = ['admin', 'editor', 'viewer'] as const satisfies readonly Role[];
export const upstreamHostHeaders = ['preserve', 'rewrite'] as const satisfies readonly UpstreamHostHeader[];

export const DEFAULT_API_URL = 'http://127.0.0.1:4000';
const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest page the API serves; fewer round trips when following a list to the end. */
const PAGE_LIMIT = 500;
const SESSION_COOKIE = 'gatehouse_session';

/**
 * `http://host:4000`, `http://host:4000/` and `http://host:4000/api` all name the same install; the CLI keeps the form
 * without `/api` (what the README and GATEHOUSE_API_URL use).
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

export interface GatehouseApiOptions {
  /** Normalized with normalizeApiUrl. */
  apiUrl: string;
  apiKey?: string;
  /** `gatehouse_session=…`, only between `login` and the creation of the CLI's API key. */
  sessionCookie?: string;
  timeoutMs?: number;
}

export class GatehouseApi {
  readonly apiUrl: string;
  readonly #timeoutMs: number;
  readonly #client: GatehouseApiClient;

  constructor(options: GatehouseApiOptions) {
    this.apiUrl = options.apiUrl;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = {};
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (options.sessionCookie !== undefined) headers.cookie = options.sessionCookie;
    this.#client = createApiClient({ baseUrl: this.apiUrl, headers, timeoutMs: this.#timeoutMs });
  }

  /** A client for the same API that authenticates with `apiKey` instead. */
  withApiKey(apiKey: string): GatehouseApi {
    return new GatehouseApi({ apiUrl: this.apiUrl, apiKey, timeoutMs: this.#timeoutMs });
  }

  withSessionCookie(sessionCookie: string): GatehouseApi {
    return new GatehouseApi({ apiUrl: this.apiUrl, sessionCookie, timeoutMs: this.#timeoutMs });
  }

  // --- auth and API keys -------------------------------------------------------------------------------------------

  /** Logs in and answers the session cookie (the CLI only uses it to mint an API key, then ends the session). */
  async login(email: string, password: string): Promise<{ cookie: string; role: Role; email: string }> {
    const { data, response } = await unwrapAnswer(this.#client.POST('/api/auth/login', { body: { email, password } }));
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(';')[0] ?? '')
      .find((pair) => pair.startsWith(`${SESSION_COOKIE}=`));
    if (cookie === undefined) throw new CliError('the API accepted the login but set no session cookie');
    return { cookie, role: data.user.role, email: data.user.email };
  }

  async logoutSession(): Promise<void> {
    await unwrap(this.#client.POST('/api/auth/logout'));
  }

  me(): Promise<Me> {
    return unwrap(this.#client.GET('/api/auth/me'));
  }

  createApiKey(description: string, role: Role): Promise<Schemas['CreatedApiKey']> {
    return unwrap(this.#client.POST('/api/api-keys', { body: { description, role } }));
  }

  async deleteApiKey(id: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/api-keys/{id}', { params: { path: { id } } }));
  }

  // --- agent authtokens ----------------------------------------------------------------------------------------------

  /** Every authtoken (all pages), newest first; `revoked` narrows to revoked or to active ones. */
  listAuthtokens(filter: { revoked?: 'true' | 'false' } = {}): Promise<Authtoken[]> {
    return collectPages({
      fetchPage: (cursor) =>
        unwrap(
          this.#client.GET('/api/authtokens', {
            params: { query: { limit: PAGE_LIMIT, ...filter, before_id: cursor } },
          }),
        ),
      itemsOf: (page) => page.authtokens,
    });
  }

  createAuthtoken(description: string, urlPatterns: readonly string[]): Promise<Schemas['CreatedAuthtoken']> {
    return unwrap(this.#client.POST('/api/authtokens', { body: { description, url_patterns: [...urlPatterns] } }));
  }

  getAuthtoken(id: string): Promise<Authtoken> {
    return unwrap(this.#client.GET('/api/authtokens/{id}', { params: { path: { id } } }));
  }

  async revokeAuthtoken(id: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/authtokens/{id}', { params: { path: { id } } }));
  }

  // --- agent sessions -----------------------------------------------------------------------------------------------

  /** Every agent session (all pages), newest first; `live` narrows to live or to ended ones. */
  listAgentSessions(filter: { live?: 'true' | 'false'; authtoken_id?: string } = {}): Promise<AgentSession[]> {
    return collectPages({
      fetchPage: (cursor) =>
        unwrap(
          this.#client.GET('/api/agent-sessions', {
            params: { query: { limit: PAGE_LIMIT, ...filter, before_id: cursor } },
          }),
        ),
      itemsOf: (page) => page.agent_sessions,
    });
  }

  // --- vaults and secrets (values are write-only) ---------------------------------------------------------------------

  async listVaults(): Promise<Vault[]> {
    return (await unwrap(this.#client.GET('/api/vaults'))).vaults;
  }

  createVault(name: string, description: string): Promise<Vault> {
    return unwrap(this.#client.POST('/api/vaults', { body: { name, description } }));
  }

  async deleteVault(vault: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/vaults/{vault}', { params: { path: { vault } } }));
  }

  async listSecrets(vault: string): Promise<Secret[]> {
    return (await unwrap(this.#client.GET('/api/vaults/{vault}/secrets', { params: { path: { vault } } }))).secrets;
  }

  putSecret(vault: string, name: string, value: string, description: string): Promise<Secret> {
    return unwrap(
      this.#client.PUT('/api/vaults/{vault}/secrets/{name}', {
        params: { path: { vault, name } },
        body: { value, description },
      }),
    );
  }

  async deleteSecret(vault: string, name: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/vaults/{vault}/secrets/{name}', { params: { path: { vault, name } } }));
  }

  // --- endpoints and policy versions ---------------------------------------------------------------------------------

  /** Every endpoint (all pages), newest first. */
  listEndpoints(filter: { type?: Endpoint['type']; url?: string } = {}): Promise<Endpoint[]> {
    return collectPages({
      fetchPage: (cursor) =>
        unwrap(
          this.#client.GET('/api/endpoints', {
            params: { query: { limit: PAGE_LIMIT, ...filter, before_id: cursor } },
          }),
        ),
      itemsOf: (page) => page.endpoints,
    });
  }

  getEndpoint(id: string): Promise<Endpoint> {
    return unwrap(this.#client.GET('/api/endpoints/{id}', { params: { path: { id } } }));
  }

  async findEndpointByUrl(url: string): Promise<Endpoint | null> {
    const found = await this.listEndpoints({ url });
    return found[0] ?? null;
  }

  createEndpoint(body: CreateEndpointBody): Promise<Endpoint> {
    return unwrap(this.#client.POST('/api/endpoints', { body }));
  }

  updateEndpoint(id: string, body: UpdateEndpointBody): Promise<Endpoint> {
    return unwrap(
      this.#client.PATCH('/api/endpoints/{id}', {
        params: { path: { id } },
        body,
      }),
    );
  }

  async deleteEndpoint(id: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/endpoints/{id}', { params: { path: { id } } }));
  }

  /** Every version (all pages), newest first (the API's order). */
  listPolicyVersions(endpointId: string): Promise<PolicyVersion[]> {
    return collectPages({
      fetchPage: (cursor) =>
        unwrap(
          this.#client.GET('/api/endpoints/{id}/policy-versions', {
            params: {
              path: { id: endpointId },
              query: { limit: PAGE_LIMIT, before_version: cursor === undefined ? undefined : Number(cursor) },
            },
          }),
        ),
      itemsOf: (page) => page.versions,
      cursorParameter: 'before_version',
    });
  }

  getPolicyVersion(endpointId: string, version: number): Promise<PolicyVersion> {
    return unwrap(
      this.#client.GET('/api/endpoints/{id}/policy-versions/{version}', {
        params: { path: { id: endpointId, version } },
      }),
    );
  }

  createPolicyVersion(endpointId: string, trafficPolicy: string, message: string): Promise<PolicyVersion> {
    return unwrap(
      this.#client.POST('/api/endpoints/{id}/policy-versions', {
        params: { path: { id: endpointId } },
        body: { traffic_policy: trafficPolicy, message },
      }),
    );
  }

  restorePolicyVersion(
    endpointId: string,
    version: number,
    message?: string,
    options: { allowFailingTests?: boolean } = {},
  ): Promise<PolicyVersion> {
    return unwrap(
      this.#client.POST('/api/endpoints/{id}/policy-versions/{version}/restore', {
        params: { path: { id: endpointId, version } },
        body: {
          ...(message === undefined ? {} : { message }),
          ...(options.allowFailingTests === true ? { allow_failing_tests: true } : {}),
        },
      }),
    );
  }

  /** Per-rule counters of a version (the active one without `version`) over the last hour and day (issue 17 item 4). */
  getPolicyRuleStats(endpointId: string, version?: number): Promise<PolicyRuleStats> {
    return unwrap(
      this.#client.GET('/api/endpoints/{id}/policy/rule-stats', {
        params: { path: { id: endpointId }, query: version === undefined ? {} : { version } },
      }),
    );
  }

  /** "What would this policy do?" on the endpoint's newest recorded requests (issue 17 item 2). */
  replayPolicy(endpointId: string, body: ReplayRequestBody): Promise<ReplayReport> {
    return unwrap(this.#client.POST('/api/endpoints/{id}/replay', { params: { path: { id: endpointId } }, body }));
  }

  /** Publishes a shadow policy (issue 17 item 3); the answer is the endpoint with its `shadow_policy`. */
  publishShadowPolicy(endpointId: string, body: PublishShadowPolicyBody): Promise<Endpoint> {
    return unwrap(
      this.#client.PUT('/api/endpoints/{id}/shadow-policy', { params: { path: { id: endpointId } }, body }),
    );
  }

  discardShadowPolicy(endpointId: string): Promise<Endpoint> {
    return unwrap(this.#client.DELETE('/api/endpoints/{id}/shadow-policy', { params: { path: { id: endpointId } } }));
  }

  /** Saves the shadow whose sha256 is given as the next version; another shadow answers 409 SHADOW_POLICY_CHANGED. */
  promoteShadowPolicy(endpointId: string, body: PromoteShadowPolicyBody): Promise<PolicyVersion> {
    return unwrap(
      this.#client.POST('/api/endpoints/{id}/shadow-policy/promote', { params: { path: { id: endpointId } }, body }),
    );
  }

  /**
   * How many requests since `since` the endpoint's shadow would have decided differently, counted from the request
   * log (the API has no count), up to `cap`: `more` says the count stopped there. Also the newest `keep` of them.
   */
  async countShadowDifferences(
    endpointId: string,
    since: string,
    cap: number,
    keep: number,
  ): Promise<{ count: number; more: boolean; newest: RequestLogSummary[] }> {
    let count = 0;
    const newest: RequestLogSummary[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await unwrap(
        this.#client.GET('/api/request-logs', {
          params: {
            query: { endpoint_id: endpointId, shadow: 'differs', from: since, limit: PAGE_LIMIT, before },
          },
        }),
      );
      count += page.request_logs.length;
      newest.push(...page.request_logs.slice(0, Math.max(0, keep - newest.length)));
      before = cursorOf(page.next_page_uri, 'before');
      if (before === undefined) return { count, more: false, newest };
      if (count >= cap) return { count, more: true, newest };
    }
  }

  // --- IP categories ---------------------------------------------------------------------------------------------------

  /** Every category, built-in ones included. The API answers them in one page: the operation takes no cursor. */
  async listIpCategories(): Promise<IpCategory[]> {
    return (await unwrap(this.#client.GET('/api/ip-categories'))).ip_categories;
  }

  putIpCategory(name: string, cidrs: readonly string[], description: string): Promise<IpCategory> {
    return unwrap(
      this.#client.PUT('/api/ip-categories/{name}', {
        params: { path: { name } },
        body: { cidrs: [...cidrs], description },
      }),
    );
  }

  async deleteIpCategory(name: string): Promise<void> {
    await unwrap(this.#client.DELETE('/api/ip-categories/{name}', { params: { path: { name } } }));
  }
}

/**
 * An endpoint named on the command line: its id (`ep_…`), its URL, or a bare host (tried as https:// then http://).
 */
export async function resolveEndpoint(client: GatehouseApi, reference: string): Promise<Endpoint> {
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
