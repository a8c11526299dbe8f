import { ErrorResponseSchema, type ErrorDetail } from '@gatehouse/contracts';

/** Codes for failures that never got an answer in the API's error shape. */
export const clientErrorCodes = {
  /** No HTTP answer at all: refused, DNS, TLS, timeout (status 0). */
  network: 'NETWORK_ERROR',
  /** A 5xx that is not the API's error body (a proxy in front of it failed). */
  upstream: 'INTERNAL_ERROR',
  /** A redirect: the API never redirects, so the address is wrong (typically http:// behind an https:// proxy). */
  redirect: 'UNEXPECTED_REDIRECT',
  /** Any other answer that is not the API's error body: a wrong URL, or another service on that port. */
  notGatehouse: 'NOT_A_GATEHOUSE_API',
} as const;

/**
 * Every failed call becomes one of these, whatever went wrong (an error body, a foreign answer, the network), so
 * callers show `message`, branch on `code` and place `details` (policy issues carry line and column) without caring
 * where the failure came from.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** The HTTP status, or 0 when no answer arrived. */
    readonly status: number,
    /** The API's stable `error_code`, or one of `clientErrorCodes`. */
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** What is known about a failed answer besides its body. */
export interface FailedAnswer {
  status: number;
  statusText?: string;
  method?: string;
  url?: string;
  /** The `Location` header of a redirect. */
  location?: string | null;
}

/**
 * Turns a non-2xx answer into an ApiError. The API's `{error_code, message, details}` is taken as it is; anything
 * else is described with what it was, so a wrong address reads as one rather than as a mysterious failure.
 */
export function toApiError(answer: FailedAnswer, body: unknown): ApiError {
  const parsed = ErrorResponseSchema.safeParse(body);
  if (parsed.success) {
    const { error_code: code, message, details, request_id: requestId } = parsed.data;
    return new ApiError(answer.status, code, message === '' ? code : message, details, requestId);
  }
  const request = answer.method !== undefined && answer.url !== undefined ? `${answer.method} ${answer.url}` : '';
  if (answer.status >= 300 && answer.status < 400 && answer.location) {
    return new ApiError(
      answer.status,
      clientErrorCodes.redirect,
      `${request || 'The API'} redirects to ${answer.location}; use that address instead`,
    );
  }
  if (answer.status >= 500) {
    return new ApiError(
      answer.status,
      clientErrorCodes.upstream,
      `The server failed to answer (HTTP ${answer.status}). Try again in a moment.`,
    );
  }
  const snippet = typeof body === 'string' ? body.replace(/\s+/g, ' ').trim().slice(0, 200) : '';
  const status = `${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`;
  return new ApiError(
    answer.status,
    clientErrorCodes.notGatehouse,
    `${request ? `${request} answered` : 'The request failed with'} HTTP ${status}` +
      `${snippet === '' ? '' : `: ${snippet}`} (is this a Gatehouse API?)`,
  );
}

/** Why a fetch() never got an answer, in words: the system error code when there is one (ECONNREFUSED, …). */
export function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = error instanceof Error ? error.cause : undefined;
  const first = cause instanceof AggregateError ? (cause.errors[0] as unknown) : cause;
  if (first instanceof Error) {
    const code = (first as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${first.message})` : first.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A human sentence for any error a call can throw. */
export function describeError(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
