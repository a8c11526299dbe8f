import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { ipCategoryKeys } from './query-keys';
import { apiClient } from './request-client';

export type IpCategory = components['schemas']['IpCategory'];
export type PutIpCategoryBody = components['schemas']['PutIpCategoryBody'];
export type CreateIpCategoryBody = components['schemas']['CreateIpCategoryBody'];

export const ipCategoryQueries = {
  list: () =>
    queryOptions({
      queryKey: ipCategoryKeys.list(),
      queryFn: () => unwrap(apiClient.GET('/api/ip-categories')),
      select: (data) => data.ip_categories,
    }),
};

/** Creates a custom category; a taken name fails with 409 IP_CATEGORY_EXISTS instead of replacing it. */
export function useCreateIpCategoryMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateIpCategoryBody) => unwrap(apiClient.POST('/api/ip-categories', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ipCategoryKeys.all }),
  });
}

/** Replaces a custom category (built-ins are read-only); the edit dialog uses it. */
export function usePutIpCategoryMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ name, body }: { name: string; body: PutIpCategoryBody }) =>
      unwrap(apiClient.PUT('/api/ip-categories/{name}', { params: { path: { name } }, body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ipCategoryKeys.all }),
  });
}

export function useDeleteIpCategoryMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(apiClient.DELETE('/api/ip-categories/{name}', { params: { path: { name } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ipCategoryKeys.all }),
  });
}
