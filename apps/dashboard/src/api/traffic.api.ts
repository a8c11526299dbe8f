import { queryOptions } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { trafficKeys } from './query-keys';
import { apiClient } from './request-client';

export type TrafficSummary = components['schemas']['TrafficSummary'];
export type TrafficPoint = components['schemas']['TrafficPoint'];
export type TrafficRange = TrafficSummary['range'];
export type TrafficEndpointTotals = components['schemas']['TrafficEndpointTotals'];

export const trafficRangeOptions: { value: TrafficRange; label: string }[] = [
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
];

/** Traffic keeps arriving: the charts ask again every half minute while they are on screen. */
const refreshMs = 30_000;

export const trafficQueries = {
  summary: (range: TrafficRange, endpointId: string | null) =>
    queryOptions({
      queryKey: trafficKeys.summary(range, endpointId),
      queryFn: () =>
        unwrap(
          apiClient.GET('/api/traffic/summary', {
            params: { query: { range, ...(endpointId === null ? {} : { endpoint_id: endpointId }) } },
          }),
        ),
      staleTime: 0,
      refetchInterval: refreshMs,
    }),
  /** Per-endpoint totals, by endpoint id (endpoints without traffic are absent). */
  endpoints: (range: TrafficRange) =>
    queryOptions({
      queryKey: trafficKeys.endpoints(range),
      queryFn: () => unwrap(apiClient.GET('/api/traffic/endpoints', { params: { query: { range } } })),
      select: (data): ReadonlyMap<string, TrafficEndpointTotals> =>
        new Map(data.endpoints.map((totals) => [totals.endpoint_id, totals])),
      staleTime: 0,
      refetchInterval: refreshMs,
    }),
};
