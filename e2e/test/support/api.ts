import { request } from 'undici';
import type { components } from '@gatehouse/api-client';

// The API's response shapes, generated from apps/api/openapi.json (checked by check:generated), so these tests
// cannot drift from the contract.
type Schemas = components['schemas'];
export type Endpoint = Schemas['Endpoint'];
export type PolicyVersion = Schemas['PolicyVersion'];
export type RequestLogSummary = Schemas['RequestLogSummary'];
export type RequestLog = Schemas['RequestLog'];
export type Health = Schemas['Health'];

export interface ApiResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** The REST API under /api, authenticated with a session cookie (after `login`) or an API key (after `useApiKey`). */
export class ApiClient {
  #cookie: string | undefined;
  #apiKey: string | undefined;

  constructor(readonly baseUrl: string) {}

  async call<T = unknown>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    else if (this.#cookie !== undefined) headers.cookie = this.#cookie;
    const response = await request(`${this.baseUrl}/api${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's HTML error page, say): callers assert on status and show `text`.
      parsed = null;
    }
    return { status: response.statusCode, headers: response.headers, body: parsed as T, text } satisfies ApiResponse<T>;
  }

  /** POST /api/auth/login; keeps the session cookie. */
  async login(email: string, password: string): Promise<ApiResponse<{ user: { email: string; role: string } }>> {
    const response = await this.call<{ user: { email: string; role: string } }>('POST', '/auth/login', {
      email,
      password,
    });
    const setCookie = response.headers['set-cookie'];
    this.#cookie = (Array.isArray(setCookie) ? setCookie : [setCookie ?? ''])
      .map((line) => line.split(';')[0] ?? '')
      .filter((pair) => pair !== '')
      .join('; ');
    return response;
  }

  get hasSession(): boolean {
    return this.#cookie !== undefined && this.#cookie !== '';
  }

  /** From now on, authenticate every call with this API key instead of the session. */
  useApiKey(secret: string): void {
    this.#apiKey = secret;
  }

  /** Every request-log row of one endpoint (newest first), following next_page_uri. */
  async listRequestLogs(endpointId: string): Promise<RequestLogSummary[]> {
    const rows: RequestLogSummary[] = [];
    let next: string | null = `/request-logs?endpoint_id=${encodeURIComponent(endpointId)}&limit=500`;
    while (next !== null) {
      const page: ApiResponse<{ request_logs: RequestLogSummary[]; next_page_uri: string | null }> = await this.call<{
        request_logs: RequestLogSummary[];
        next_page_uri: string | null;
      }>('GET', next);
      if (page.status !== 200) throw new Error(`GET ${next} answered ${page.status}: ${page.text}`);
      rows.push(...page.body.request_logs);
      next = page.body.next_page_uri === null ? null : page.body.next_page_uri.replace(/^\/api/, '');
    }
    return rows;
  }
}
