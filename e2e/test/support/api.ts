import {
  collectPages,
  createApiClient,
  type GatehouseApiClient,
  type Schemas,
  unwrap,
  unwrapAnswer,
} from '@gatehouse/api-client';

// The REST API through @gatehouse/api-client: paths, bodies and answers are the types generated from
// apps/api/openapi.json (checked by check:generated), so these tests cannot drift from the contract, and a failed call
// rejects with an ApiError that says what the API answered.
export type Health = Schemas['Health'];

/** An answer with its status, for tests that assert both. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export async function answerOf<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<ApiAnswer<T>> {
  const { data, response } = await unwrapAnswer(pending);
  return { status: response.status, body: data };
}

/** POST /api/endpoints as the README sends it: only the fields it sets, the API fills in the defaults. */
export type EndpointCreation = Schemas['CreateEndpointBody'];

/** The REST API under /api, authenticated with a session cookie (after `login`) or an API key (after `useApiKey`). */
export class ApiClient {
  #client: GatehouseApiClient;
  #hasSession = false;

  constructor(readonly baseUrl: string) {
    this.#client = createApiClient({ baseUrl });
  }

  /** The typed client with the current credentials. */
  get client(): GatehouseApiClient {
    return this.#client;
  }

  /** POST /api/auth/login; keeps the session cookie. */
  async login(email: string, password: string): Promise<ApiAnswer<Schemas['Session']>> {
    const { data, response } = await unwrapAnswer(
      createApiClient({ baseUrl: this.baseUrl }).POST('/api/auth/login', { body: { email, password } }),
    );
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(';')[0] ?? '')
      .filter((pair) => pair !== '')
      .join('; ');
    this.#hasSession = cookie !== '';
    this.#client = createApiClient({ baseUrl: this.baseUrl, headers: { cookie } });
    return { status: response.status, body: data };
  }

  get hasSession(): boolean {
    return this.#hasSession;
  }

  /** From now on, authenticate every call with this API key instead of the session. */
  useApiKey(secret: string): void {
    this.#client = createApiClient({ baseUrl: this.baseUrl, headers: { authorization: `Bearer ${secret}` } });
  }

  createEndpoint(body: EndpointCreation): Promise<ApiAnswer<Schemas['Endpoint']>> {
    return answerOf(this.#client.POST('/api/endpoints', { body }));
  }

  /** Every request-log row of one endpoint (newest first), following next_page_uri. */
  listRequestLogs(endpointId: string): Promise<Schemas['RequestLogSummary'][]> {
    return collectPages({
      fetchPage: (cursor) =>
        unwrap(
          this.#client.GET('/api/request-logs', {
            params: { query: { endpoint_id: endpointId, limit: 500, before: cursor } },
          }),
        ),
      itemsOf: (page) => page.request_logs,
      cursorParameter: 'before',
    });
  }
}
