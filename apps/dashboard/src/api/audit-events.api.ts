import { infiniteQueryOptions } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { auditEventKeys, type AuditEventFilters } from './query-keys';
import { apiClient } from './request-client';

export type AuditEvent = components['schemas']['AuditEvent'];

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
      select: (data) => data.pages.flatMap((page) => page.audit_events),
    }),
};
