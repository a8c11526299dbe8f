import { useMutation } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { apiClient } from './request-client';

export type ReplayReport = components['schemas']['ReplayReport'];
export type ReplayRequestBody = components['schemas']['ReplayRequestBody'];

/**
 * "What would this policy do?" on the endpoint's recent recorded requests (issue 17 item 2). A mutation, not a query:
 * a replay costs the API seconds of CPU, so it runs when asked, never on a refetch.
 */
export function useReplayMutation(endpointId: string) {
  return useMutation({
    mutationFn: (body: ReplayRequestBody) =>
      unwrap(apiClient.POST('/api/endpoints/{id}/replay', { params: { path: { id: endpointId } }, body })),
  });
}
