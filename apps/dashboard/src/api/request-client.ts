import createClient from 'openapi-fetch';
import type { paths } from '@gatehouse/api-client';

/** One problem in an error body: a policy issue carries its line and column, a field problem its path. */
export interface ApiErrorDetail {
  code?: string;
  message: string;
  path?: string;
  line?: number;
  column?: number;
}

/**
 * Every failed request becomes one of these, whatever went wrong (HTTP error, non-JSON body, network down), so pages
 * show `message` and the policy editor reads `details` without caring where the failure came from.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** Status 0 marks failures that never got an HTTP answer. */
export const networkErrorCode = 'NETWORK_ERROR';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function toErrorDetail(value: unknown): ApiErrorDetail | null {
  if (!isRecord(value) || typeof value.message !== 'string') return null;
  return {
    message: value.message,
    ...(typeof value.code === 'string' ? { code: value.code } : {}),
    ...(typeof value.path === 'string' ? { path: value.path } : {}),
    ...(typeof value.line === 'number' ? { line: value.line } : {}),
    ...(typeof value.column === 'number' ? { column: value.column } : {}),
  };
}

/** Turns an HTTP error answer (ideally the API's `{error_code, message, details}`) into an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isRecord(body) && typeof body.error_code === 'string') {
    const details = Array.isArray(body.details)
      ? body.details.map(toErrorDetail).filter((detail): detail is ApiErrorDetail => detail !== null)
      : [];
    const message = typeof body.message === 'string' && body.message ? body.message : body.error_code;
    return new ApiError(
      status,
      body.error_code,
      message,
      details,
      typeof body.request_id === 'string' ? body.request_id : undefined,
    );
  }
  const fallback =
    status >= 500 ? 'The server failed to answer. Try again in a moment.' : `The request failed (HTTP ${status}).`;
  return new ApiError(status, status >= 500 ? 'INTERNAL_ERROR' : 'HTTP_ERROR', fallback);
}

/** A human sentence for any error a query or mutation can throw. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

/** Same-origin in production (the API serves the dashboard) and through the Vite proxy in development. */
export const apiClient = createClient<paths>({
  // Absolute, because Request() outside a browser (component tests) does not resolve relative URLs.
  baseUrl: globalThis.location?.origin ?? '',
  credentials: 'include',
  headers: { accept: 'application/json' },
  fetch: async (request: Request) => {
    try {
      return await globalThis.fetch(request);
    } catch {
      throw new ApiError(0, networkErrorCode, 'The Gatehouse API cannot be reached. Check that it is running.');
    }
  },
});

interface FetchOutcome<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/** Resolves to the answer's body or throws an ApiError: the one place that decides what counts as a failure. */
export async function unwrap<Data>(pending: Promise<FetchOutcome<Data>>): Promise<Data> {
  const { data, error, response } = await pending;
  if (!response.ok || error !== undefined) throw toApiError(response.status, error);
  return data as Data;
}

/** The `before_id` (or other cursor) of a list answer's `next_page_uri`; undefined on the last page. */
export function cursorOf(nextPageUri: string | null, parameter = 'before_id'): string | undefined {
  if (!nextPageUri) return undefined;
  return new URL(nextPageUri, 'http://gatehouse.invalid').searchParams.get(parameter) ?? undefined;
}
