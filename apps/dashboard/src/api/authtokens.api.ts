import { infiniteQueryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { authtokenKeys } from './query-keys';
import { apiClient } from './request-client';

export type Authtoken = components['schemas']['Authtoken'];
export type CreatedAuthtoken = components['schemas']['CreatedAuthtoken'];
export type CreateAuthtokenBody = components['schemas']['CreateAuthtokenBody'];

export const authtokenQueries = {
  list: () =>
    infiniteQueryOptions({
      queryKey: authtokenKeys.list(),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/authtokens', {
            params: { query: { limit: 50, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
      select: (data) => data.pages.flatMap((page) => page.authtokens),
    }),
};

/** The answer carries the secret; it is never shown again. */
export function useCreateAuthtokenMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateAuthtokenBody) => unwrap(apiClient.POST('/api/authtokens', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: authtokenKeys.all }),
  });
}

export function useRevokeAuthtokenMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (authtokenId: string) =>
      unwrap(apiClient.DELETE('/api/authtokens/{id}', { params: { path: { id: authtokenId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: authtokenKeys.all }),
  });
}
