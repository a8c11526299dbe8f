import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { ipCategoryKeys } from './query-keys';
import { apiClient } from './request-client';

export type IpCategory = components['schemas']['IpCategory'];
export type PutIpCategoryBody = components['schemas']['PutIpCategoryBody'];

export const ipCategoryQueries = {
  list: () =>
    queryOptions({
      queryKey: ipCategoryKeys.list(),
      queryFn: () => unwrap(apiClient.GET('/api/ip-categories')),
      select: (data) => data.ip_categories,
    }),
};

/** Creates or replaces a custom category (built-ins are read-only). */
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
