import {
  infiniteQueryOptions,
  queryOptions,
  useMutation,
  useQueryClient,
  type InfiniteData,
  type QueryClient,
} from '@tanstack/react-query';
import { policyVersionKeys } from './policy-versions.api';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { apiClient } from './request-client';

export type Endpoint = components['schemas']['Endpoint'];
export type EndpointType = Endpoint['type'];
export type CreateEndpointBody = components['schemas']['CreateEndpointBody'];
export type UpdateEndpointBody = components['schemas']['UpdateEndpointBody'];
export type EndpointListPages = InfiniteData<components['schemas']['EndpointList'], string | undefined>;

export interface EndpointListFilters {
  type?: EndpointType;
  /** Exact endpoint URL (the API matches it exactly). */
  url?: string;
}

const pageSize = 50;

export const endpointKeys = {
  all: ['endpoints'] as const,
  /** Every page of every filtered list: each query under this prefix holds `EndpointListPages`, nothing else. */
  lists: () => [...endpointKeys.all, 'list'] as const,
  list: (filters: EndpointListFilters) => [...endpointKeys.lists(), filters] as const,
  internalUrls: () => [...endpointKeys.all, 'internal-urls'] as const,
  details: () => [...endpointKeys.all, 'detail'] as const,
  detail: (endpointId: string) => [...endpointKeys.details(), endpointId] as const,
};

export const endpointQueries = {
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

/**
 * Writes what a mutation's answer says about an endpoint into every cached copy of it: its detail and each list page
 * that shows it. Invalidating alone is not enough: a page mounting later renders its cached copy first and the fresh
 * one only when the refetch lands, so right after a restore the endpoint list showed the superseded policy version
 * (for as long as the refetch took). Call it before invalidating: writing a query's data marks it fresh again.
 */
export function updateCachedEndpoint(
  queryClient: QueryClient,
  endpointId: string,
  update: (endpoint: Endpoint) => Endpoint,
): void {
  queryClient.setQueryData<Endpoint>(endpointKeys.detail(endpointId), (endpoint) => endpoint && update(endpoint));
  changeCachedListPages(queryClient, endpointId, (endpoints) =>
    endpoints.map((endpoint) => (endpoint.id === endpointId ? update(endpoint) : endpoint)),
  );
}

/** Takes a deleted endpoint out of every cached list page, for the same reason as updateCachedEndpoint. */
function removeCachedEndpoint(queryClient: QueryClient, endpointId: string): void {
  queryClient.removeQueries({ queryKey: endpointKeys.detail(endpointId) });
  changeCachedListPages(queryClient, endpointId, (endpoints) =>
    endpoints.filter((endpoint) => endpoint.id !== endpointId),
  );
}

/** Rewrites the endpoints of every cached list page, in the lists that hold `endpointId`; other lists are untouched. */
function changeCachedListPages(
  queryClient: QueryClient,
  endpointId: string,
  change: (endpoints: Endpoint[]) => Endpoint[],
): void {
  queryClient.setQueriesData<EndpointListPages>({ queryKey: endpointKeys.lists() }, (lists) => {
    if (!lists?.pages.some((page) => page.endpoints.some((endpoint) => endpoint.id === endpointId))) return undefined;
    return { ...lists, pages: lists.pages.map((page) => ({ ...page, endpoints: change(page.endpoints) })) };
  });
}

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
