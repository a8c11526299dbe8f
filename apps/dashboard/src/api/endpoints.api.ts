import { infiniteQueryOptions, queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { policyVersionKeys } from './policy-versions.api';
import { apiClient, cursorOf, unwrap } from './request-client';
import type { components } from './schema';

export type Endpoint = components['schemas']['Endpoint'];
export type EndpointType = Endpoint['type'];
export type CreateEndpointBody = components['schemas']['CreateEndpointBody'];
export type UpdateEndpointBody = components['schemas']['UpdateEndpointBody'];

export interface EndpointListFilters {
  type?: EndpointType;
  /** Exact endpoint URL (the API matches it exactly). */
  url?: string;
}

const pageSize = 50;

export const endpointKeys = {
  all: ['endpoints'] as const,
  lists: () => [...endpointKeys.all, 'list'] as const,
  list: (filters: EndpointListFilters) => [...endpointKeys.lists(), filters] as const,
  details: () => [...endpointKeys.all, 'detail'] as const,
  /**
   * Every internal endpoint URL (all pages), so the browser's policy check can warn about forward-internal targets
   * that do not exist, as the API does.
   */
  internalUrls: () =>
    queryOptions({
      queryKey: [...endpointKeys.lists(), 'internal-urls'] as const,
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
      queryKey: [...endpointKeys.lists(), 'internal-urls'] as const,
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

export function useCreateEndpointMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateEndpointBody) => unwrap(apiClient.POST('/api/endpoints', { body })),
    onSuccess: async (endpoint) => {
      queryClient.setQueryData(endpointKeys.detail(endpoint.id), endpoint);
      await queryClient.invalidateQueries({ queryKey: endpointKeys.lists() });
    },
  });
}

export function useUpdateEndpointMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateEndpointBody) =>
      unwrap(apiClient.PATCH('/api/endpoints/{id}', { params: { path: { id: endpointId } }, body })),
    onSuccess: async (endpoint) => {
      queryClient.setQueryData(endpointKeys.detail(endpoint.id), endpoint);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: endpointKeys.lists() }),
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
      queryClient.removeQueries({ queryKey: endpointKeys.detail(endpointId) });
      await queryClient.invalidateQueries({ queryKey: endpointKeys.lists() });
    },
  });
}
