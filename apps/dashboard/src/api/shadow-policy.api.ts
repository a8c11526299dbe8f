import { infiniteQueryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { updateCachedEndpoint } from './endpoint-cache';
import { endpointKeys, policyVersionKeys, requestLogKeys, type RequestLogFilters } from './query-keys';
import { apiClient } from './request-client';

export type ShadowPolicy = components['schemas']['ShadowPolicy'];
export type PublishShadowPolicyBody = components['schemas']['PublishShadowPolicyBody'];
export type PromoteShadowPolicyBody = components['schemas']['PromoteShadowPolicyBody'];

/** How many differing requests the panel lists; beyond it shows "100+" and links to the request log. */
export const shadowDifferencesPageSize = 100;

/**
 * The requests on which the endpoint's current shadow would have decided differently. Rows logged before the shadow
 * was published belong to an earlier shadow (the API keeps `shadow_differs` per row, not per shadow), so the list
 * starts at its `created_at`.
 */
export function shadowDifferencesFilters(endpointId: string, shadow: ShadowPolicy): RequestLogFilters {
  return { endpoint_id: endpointId, shadow: 'differs', from: shadow.created_at };
}

export const shadowPolicyQueries = {
  differences: (endpointId: string, shadow: ShadowPolicy) =>
    infiniteQueryOptions({
      queryKey: requestLogKeys.list(shadowDifferencesFilters(endpointId, shadow)),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/request-logs', {
            params: {
              query: {
                ...shadowDifferencesFilters(endpointId, shadow),
                limit: shadowDifferencesPageSize,
                ...(pageParam ? { before: pageParam } : {}),
              },
            },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri, 'before'),
      select: (data) => ({
        rows: data.pages.flatMap((page) => page.request_logs),
        more: (data.pages.at(-1)?.next_page_uri ?? null) !== null,
      }),
      // Differences arrive with live traffic (request events reach the API within a second or so).
      refetchInterval: 10_000,
      staleTime: 0,
    }),
};

/** Publishing or discarding answers the endpoint with its new `shadow_policy`. */
export function usePublishShadowPolicyMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: PublishShadowPolicyBody) =>
      unwrap(apiClient.PUT('/api/endpoints/{id}/shadow-policy', { params: { path: { id: endpointId } }, body })),
    onSuccess: (endpoint) => updateCachedEndpoint(queryClient, endpointId, () => endpoint),
  });
}

export function useDiscardShadowPolicyMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(apiClient.DELETE('/api/endpoints/{id}/shadow-policy', { params: { path: { id: endpointId } } })),
    onSuccess: (endpoint) => updateCachedEndpoint(queryClient, endpointId, () => endpoint),
    // A 404 SHADOW_POLICY_NOT_FOUND means someone else discarded or promoted it: show what is there now.
    onError: () => queryClient.invalidateQueries({ queryKey: endpointKeys.detail(endpointId) }),
  });
}

/** Promoting saves the shadow as the next version and clears it; the answer is the new active version. */
export function usePromoteShadowPolicyMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: PromoteShadowPolicyBody) =>
      unwrap(
        apiClient.POST('/api/endpoints/{id}/shadow-policy/promote', { params: { path: { id: endpointId } }, body }),
      ),
    onSuccess: async (version) => {
      queryClient.setQueryData(policyVersionKeys.detail(endpointId, version.version), version);
      updateCachedEndpoint(queryClient, endpointId, (endpoint) => ({
        ...endpoint,
        policy_version: version.version,
        traffic_policy: version.traffic_policy,
        shadow_policy: null,
      }));
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: policyVersionKeys.list(endpointId) }),
        queryClient.invalidateQueries({ queryKey: endpointKeys.detail(endpointId) }),
        queryClient.invalidateQueries({ queryKey: endpointKeys.lists() }),
      ]);
    },
    // 409 SHADOW_POLICY_CHANGED / 404: the shadow on screen is not the stored one any more; fetch the stored one.
    onError: () => queryClient.invalidateQueries({ queryKey: endpointKeys.detail(endpointId) }),
  });
}
