import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { authKeys } from './query-keys';
import { ApiError } from '@gatehouse/api-client';

/**
 * A 401 from any request means the session ended (expired, signed out elsewhere): clearing the cached user sends
 * the router's session gate to the sign-in page, which then returns to where the user was.
 */
function handleSessionEnded(queryClient: QueryClient, error: unknown): void {
  if (error instanceof ApiError && error.status === 401 && error.code === 'UNAUTHENTICATED') {
    queryClient.setQueryData(authKeys.me(), null);
  }
}

export function createQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError: (error) => handleSessionEnded(queryClient, error) }),
    mutationCache: new MutationCache({ onError: (error) => handleSessionEnded(queryClient, error) }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // Client errors do not get better by asking again.
        retry: (failureCount, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failureCount < 2,
      },
      mutations: { retry: false },
    },
  });
  return queryClient;
}
