import { ApiError, clientErrorCodes, createApiClient, describeError as describeAnyError } from '@gatehouse/api-client';

/**
 * The dashboard's one API client: same-origin in production (the API serves the dashboard) and through the Vite
 * proxy in development, with the session cookie. Every failure rejects with @gatehouse/api-client's ApiError.
 */
export const apiClient = createApiClient({ baseUrl: location.origin, credentials: 'include' });

/**
 * A human sentence for any error a query or mutation can throw. An answer that is not the API's error body is
 * described by its status only: the dashboard is served by the API itself, so the client's "is this a Gatehouse API?"
 * hint (meant for a mistyped address in the CLI) would only puzzle here.
 */
export function describeError(error: unknown): string {
  if (error instanceof ApiError && error.code === clientErrorCodes.notGatehouse) {
    return `The request failed (HTTP ${error.status}).`;
  }
  return describeAnyError(error);
}
