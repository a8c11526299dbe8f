import { infiniteQueryOptions, queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { updateCachedEndpoint } from './endpoint-cache';
import { endpointKeys, policyVersionKeys } from './query-keys';
import { apiClient } from './request-client';

export type PolicyVersion = components['schemas']['PolicyVersion'];
export type CreatePolicyVersionBody = components['schemas']['CreatePolicyVersionBody'];

export const policyVersionQueries = {
  /** Newest first. */
  list: (endpointId: string) =>
    infiniteQueryOptions({
      queryKey: policyVersionKeys.list(endpointId),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/endpoints/{id}/policy-versions', {
            params: {
              path: { id: endpointId },
              query: { limit: 50, ...(pageParam ? { before_version: pageParam } : {}) },
            },
          }),
        ),
      initialPageParam: undefined as number | undefined,
      getNextPageParam: (lastPage) => {
        const cursor = cursorOf(lastPage.next_page_uri, 'before_version');
        return cursor === undefined ? undefined : Number(cursor);
      },
      select: (data) => data.pages.flatMap((page) => page.versions),
    }),
  /** Versions are immutable, so a fetched one never goes stale. */
  detail: (endpointId: string, version: number) =>
    queryOptions({
      queryKey: policyVersionKeys.detail(endpointId, version),
      queryFn: () =>
        unwrap(
          apiClient.GET('/api/endpoints/{id}/policy-versions/{version}', {
            params: { path: { id: endpointId, version } },
          }),
        ),
      staleTime: Infinity,
    }),
  /** Per-rule counters of a version; they reach the API with data-plane heartbeats, so polling faster gains nothing. */
  ruleStats: (endpointId: string, version: number) =>
    queryOptions({
      queryKey: policyVersionKeys.ruleStats(endpointId, version),
      queryFn: () =>
        unwrap(
          apiClient.GET('/api/endpoints/{id}/policy/rule-stats', {
            params: { path: { id: endpointId }, query: { version } },
          }),
        ),
      refetchInterval: 30_000,
    }),
};

async function refreshAfterNewVersion(
  queryClient: ReturnType<typeof useQueryClient>,
  endpointId: string,
  version: PolicyVersion,
): Promise<void> {
  queryClient.setQueryData(policyVersionKeys.detail(endpointId, version.version), version);
  // The new version is active now; the endpoint's other changed fields (updated_at) arrive with the refetch.
  updateCachedEndpoint(queryClient, endpointId, (endpoint) => ({
    ...endpoint,
    policy_version: version.version,
    traffic_policy: version.traffic_policy,
  }));
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: policyVersionKeys.list(endpointId) }),
    queryClient.invalidateQueries({ queryKey: endpointKeys.detail(endpointId) }),
    queryClient.invalidateQueries({ queryKey: endpointKeys.lists() }),
  ]);
}

/** Saving a policy appends a version and makes it active. */
export function useCreatePolicyVersionMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreatePolicyVersionBody) =>
      unwrap(apiClient.POST('/api/endpoints/{id}/policy-versions', { params: { path: { id: endpointId } }, body })),
    onSuccess: (version) => refreshAfterNewVersion(queryClient, endpointId, version),
  });
}

/** Restoring appends a copy of an old version as the newest one; history stays linear. */
export function useRestorePolicyVersionMutation(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({
      version,
      message,
      allowFailingTests,
    }: {
      version: number;
      message?: string;
      /** The active version's cases run against the restored text; true restores even when some fail. */
      allowFailingTests?: boolean;
    }) =>
      unwrap(
        apiClient.POST('/api/endpoints/{id}/policy-versions/{version}/restore', {
          params: { path: { id: endpointId, version } },
          body: { ...(message ? { message } : {}), ...(allowFailingTests ? { allow_failing_tests: true } : {}) },
        }),
      ),
    onSuccess: (version) => refreshAfterNewVersion(queryClient, endpointId, version),
  });
}
