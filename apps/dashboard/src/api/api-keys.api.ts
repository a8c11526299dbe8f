import { infiniteQueryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { apiKeyKeys } from './query-keys';
import { apiClient } from './request-client';

export type ApiKey = components['schemas']['ApiKey'];
export type CreatedApiKey = components['schemas']['CreatedApiKey'];
export type CreateApiKeyBody = components['schemas']['CreateApiKeyBody'];

export const apiKeyQueries = {
  list: () =>
    infiniteQueryOptions({
      queryKey: apiKeyKeys.list(),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/api-keys', {
            params: { query: { limit: 50, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
      select: (data) => data.pages.flatMap((page) => page.api_keys),
    }),
};

/** The answer carries the secret; it is never shown again. */
export function useCreateApiKeyMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateApiKeyBody) => unwrap(apiClient.POST('/api/api-keys', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeyKeys.all }),
  });
}

export function useRevokeApiKeyMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (apiKeyId: string) =>
      unwrap(apiClient.DELETE('/api/api-keys/{id}', { params: { path: { id: apiKeyId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeyKeys.all }),
  });
}
