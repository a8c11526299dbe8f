import { infiniteQueryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { userKeys } from './query-keys';
import { apiClient } from './request-client';

export type User = components['schemas']['User'];
export type CreateUserBody = components['schemas']['CreateUserBody'];
export type UpdateUserBody = components['schemas']['UpdateUserBody'];

export const userQueries = {
  list: () =>
    infiniteQueryOptions({
      queryKey: userKeys.list(),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/users', {
            params: { query: { limit: 50, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
      select: (data) => data.pages.flatMap((page) => page.users),
    }),
};

export function useCreateUserMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateUserBody) => unwrap(apiClient.POST('/api/users', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: userKeys.all }),
  });
}

export function useUpdateUserMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ userId, body }: { userId: string; body: UpdateUserBody }) =>
      unwrap(apiClient.PATCH('/api/users/{id}', { params: { path: { id: userId } }, body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: userKeys.all }),
  });
}

export function useDeleteUserMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (userId: string) => unwrap(apiClient.DELETE('/api/users/{id}', { params: { path: { id: userId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: userKeys.all }),
  });
}
