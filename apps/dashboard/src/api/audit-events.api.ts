import { infiniteQueryOptions } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { apiClient } from './request-client';

export type AuditEvent = components['schemas']['AuditEvent'];

export interface AuditEventFilters {
  actor?: string;
  kind?: string;
  entity_id?: string;
}

export const auditEventKeys = {
  all: ['audit-events'] as const,
  list: (filters: AuditEventFilters) => [...auditEventKeys.all, 'list', filters] as const,
};

export const auditEventQueries = {
  /** Newest first. */
  list: (filters: AuditEventFilters) =>
    infiniteQueryOptions({
      queryKey: auditEventKeys.list(filters),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/audit-events', {
            params: { query: { limit: 50, ...filters, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
    }),
};
