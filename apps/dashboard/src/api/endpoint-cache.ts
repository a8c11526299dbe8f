import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { components } from '@gatehouse/api-client';
import { endpointKeys } from './query-keys';

type Endpoint = components['schemas']['Endpoint'];
type EndpointListPages = InfiniteData<components['schemas']['EndpointList'], string | undefined>;

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
export function removeCachedEndpoint(queryClient: QueryClient, endpointId: string): void {
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
