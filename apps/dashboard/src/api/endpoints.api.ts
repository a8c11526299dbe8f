import {
  infiniteQueryOptions,
  queryOptions,
  useMutation,
  useQueryClient,
  type QueryClient,
} from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { removeCachedEndpoint, updateCachedEndpoint } from './endpoint-cache';
import { endpointKeys, policyVersionKeys, type EndpointListFilters } from './query-keys';
import { apiClient } from './request-client';

export type Endpoint = components['schemas']['Endpoint'];
export type EndpointType = Endpoint['type'];
export type CreateEndpointBody = components['schemas']['CreateEndpointBody'];
export type UpdateEndpointBody = components['schemas']['UpdateEndpointBody'];

const pageSize = 50;

export const endpointQueries = {
  /** Read as the endpoints loaded so far; the cache keeps the API's pages (endpoint-cache.ts rewrites them). */
  list: (filters: EndpointListFilters) =>
    infiniteQueryOptions({
      queryKey: endpointKeys.list(filters),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/endpoints', {
            params: { query: { limit: pageSize, ...filters, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
      select: (data) => data.pages.flatMap((page) => page.endpoints),
    }),
  /**
   * Every internal endpoint URL (all pages), so the browser's policy check can warn about forward-internal targets
   * that do not exist, as the API does.
   */
  internalUrls: () =>
    queryOptions({
      queryKey: endpointKeys.internalUrls(),
      queryFn: async (): Promise<ReadonlySet<string>> => {
        const urls = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = await unwrap(
            apiClient.GET('/api/endpoints', {
              params: { query: { type: 'internal', limit: 500, ...(cursor ? { before_id: cursor } : {}) } },
            }),
          );
          for (const endpoint of page.endpoints) urls.add(endpoint.url);
          cursor = cursorOf(page.next_page_uri);
        } while (cursor);
        return urls;
      },
    }),
  detail: (endpointId: string) =>
    queryOptions({
      queryKey: endpointKeys.detail(endpointId),
      queryFn: () => unwrap(apiClient.GET('/api/endpoints/{id}', { params: { path: { id: endpointId } } })),
    }),
};

/** Lists (and the internal URLs) refetch: what an endpoint change did to them is only known to the server. */
function invalidateEndpointLists(queryClient: QueryClient): Promise<unknown> {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: endpointKeys.lists() }),
    queryClient.invalidateQueries({ queryKey: endpointKeys.internalUrls() }),
  ]);
}

export function useCreateEndpointMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateEndpointBody) => unwrap(apiClient.POST('/api/endpoints', { body })),
    onSuccess: async (endpoint) => {
      queryClient.setQueryData(endpointKeys.detail(endpoint.id), endpoint);
      await invalidateEndpointLists(queryClient);
    },
  });
}

export function useUpdateEndpointMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateEndpointBody) =>
      unwrap(apiClient.PATCH('/api/endpoints/{id}', { params: { path: { id: endpointId } }, body })),
    onSuccess: async (endpoint) => {
      updateCachedEndpoint(queryClient, endpoint.id, () => endpoint);
      await Promise.all([
        invalidateEndpointLists(queryClient),
        queryClient.invalidateQueries({ queryKey: policyVersionKeys.all(endpointId) }),
      ]);
    },
  });
}

export function useDeleteEndpointMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (endpointId: string) =>
      unwrap(apiClient.DELETE('/api/endpoints/{id}', { params: { path: { id: endpointId } } })),
    onSuccess: async (_nothing, endpointId) => {
      removeCachedEndpoint(queryClient, endpointId);
      await invalidateEndpointLists(queryClient);
    },
  });
}
