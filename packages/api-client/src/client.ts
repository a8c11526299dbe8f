import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError, clientErrorCodes, describeFetchFailure, toApiError } from './api-error.js';
import type { paths } from './schema.js';

/** A client whose every path, parameter, body and answer is typed from apps/api/openapi.json. */
export type GatehouseApiClient = Client<paths>;

export interface ApiClientOptions {
  /**
   * Where the API is: an origin, optionally with a path prefix (`https://gw.example.com/gatehouse`); a trailing
   * `/api` is accepted and dropped, because every path of the API already starts with it.
   */
  baseUrl: string;
  /** Sent with every call (e.g. `authorization: Bearer <api key>`). */
  headers?: Record<string, string>;
  /** `include` in the browser, so the session cookie travels. */
  credentials?: RequestCredentials;
  /** Aborts a call that has not answered by then (ApiError NETWORK_ERROR, "timed out"). */
  timeoutMs?: number;
  /** The fetch to use (tests, proxies); defaults to the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

/** `http://h:4000`, `http://h:4000/` and `http://h:4000/api` all name the same install. */
export function apiBaseUrl(text: string): string {
  return text
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api$/, '');
}

/**
 * The one place that decides what a failure is: no answer → ApiError with status 0 and NETWORK_ERROR; any non-2xx
 * answer → ApiError from the API's error body (or a description of the foreign answer). Calls therefore either
 * resolve with their typed `data` or reject with an ApiError.
 */
function failuresAsApiErrors(): Middleware {
  return {
    onError({ request, error }) {
      if (error instanceof ApiError) return error;
      return new ApiError(
        0,
        clientErrorCodes.network,
        `The Gatehouse API cannot be reached (${request.method} ${request.url}: ${describeFetchFailure(error)}). ` +
          'Check that it is running and the address is right.',
      );
    },
    async onResponse({ request, response, options }) {
      if (response.ok) {
        if (options.parseAs === 'json') await refuseAnswerThatIsNotJson(request, response);
        return undefined;
      }
      const text = await response
        .clone()
        .text()
        .catch(() => '');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: toApiError describes the text instead.
      }
      throw toApiError(
        {
          status: response.status,
          statusText: response.statusText,
          method: request.method,
          url: request.url,
          location: response.headers.get('location'),
        },
        body,
      );
    },
  };
}

/**
 * A 2xx whose body is not JSON did not come from the API either: typically a web server that answers every path with
 * its index.html. Without this check the caller would get a bare SyntaxError from the JSON parser.
 */
async function refuseAnswerThatIsNotJson(request: Request, response: Response): Promise<void> {
  if (response.status === 204 || (response.headers.get('content-type') ?? '').includes('json')) return;
  const text = await response
    .clone()
    .text()
    .catch(() => '');
  if (text.trim() === '') return;
  try {
    JSON.parse(text);
  } catch {
    throw toApiError(
      { status: response.status, statusText: response.statusText, method: request.method, url: request.url },
      text,
    );
  }
}

export function createApiClient(options: ApiClientOptions): GatehouseApiClient {
  const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const { timeoutMs } = options;
  const client = createClient<paths>({
    baseUrl: apiBaseUrl(options.baseUrl),
    headers: { accept: 'application/json', ...options.headers },
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    // The API never redirects; following one would resend the credentials to wherever it points.
    redirect: 'manual',
    fetch:
      timeoutMs === undefined
        ? baseFetch
        : (request) =>
            baseFetch(
              new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) }),
            ),
  });
  client.use(failuresAsApiErrors());
  return client;
}

interface CallOutcome<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/**
 * The answer's body, typed. The client's middleware already rejects every failure with an ApiError; this also
 * narrows openapi-fetch's `data | error` union so callers never see `undefined` for a 2xx.
 */
export async function unwrap<Data>(pending: Promise<CallOutcome<Data>>): Promise<Data> {
  return (await unwrapAnswer(pending)).data;
}

/** Like unwrap, with the Response as well, for what only its headers carry (e.g. the session cookie of a login). */
export async function unwrapAnswer<Data>(
  pending: Promise<CallOutcome<Data>>,
): Promise<{ data: Data; response: Response }> {
  const { data, error, response } = await pending;
  if (!response.ok || error !== undefined) throw toApiError({ status: response.status }, error);
  return { data: data as Data, response };
}
