import { queryOptions } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { dataplaneKeys } from './query-keys';
import { apiClient } from './request-client';

export type Dataplane = components['schemas']['Dataplane'];

export const dataplaneQueries = {
  /** The fleet changes on its own (heartbeats every 30 s), so the page polls. */
  list: () =>
    queryOptions({
      queryKey: dataplaneKeys.list(),
      queryFn: () => unwrap(apiClient.GET('/api/dataplanes')),
      select: (data) => data.dataplanes,
      refetchInterval: 10_000,
    }),
};
