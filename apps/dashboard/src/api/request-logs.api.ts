import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { requestLogKeys, type RequestLogFilters } from './query-keys';
import { apiClient } from './request-client';

/** One row of the log (list and live tail). */
export type RequestLogSummary = components['schemas']['RequestLogSummary'];
/** Everything recorded about one request, the full decision trace included. */
export type RequestLog = components['schemas']['RequestLog'];

export const requestLogQueries = {
  /** Newest first; the `before` cursor of next_page_uri pages back in time. */
  list: (filters: RequestLogFilters) =>
    infiniteQueryOptions({
      queryKey: requestLogKeys.list(filters),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/request-logs', {
            params: { query: { ...filters, limit: 100, ...(pageParam ? { before: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri, 'before'),
      select: (data) => data.pages.flatMap((page) => page.request_logs),
      // New requests arrive all the time: every visit asks again.
      staleTime: 0,
      refetchOnWindowFocus: true,
    }),
  /** A logged request never changes. */
  detail: (requestLogId: string) =>
    queryOptions({
      queryKey: requestLogKeys.detail(requestLogId),
      queryFn: () => unwrap(apiClient.GET('/api/request-logs/{id}', { params: { path: { id: requestLogId } } })),
      staleTime: Infinity,
    }),
};

/** The live tail's URL: Server-Sent Events with the same filters as the list. */
export function requestLogStreamUrl(filters: RequestLogFilters): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (typeof value === 'string' && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return `/api/request-logs/stream${text ? `?${text}` : ''}`;
}

/** The stream's event name for one logged request (DESIGN.md §5; see the route's OpenAPI description). */
export const requestLogEventName = 'request_log';

/** A tail event carries one request (a batch is accepted too); anything else is dropped. */
export function parseTailMessage(data: string): RequestLogSummary[] {
  const parsed: unknown = JSON.parse(data);
  const items: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  return items.filter(
    (item): item is RequestLogSummary =>
      typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string',
  );
}

/** How many live-tailed requests stay on screen. */
export const maximumTailedRows = 500;

/**
 * The live tail: while enabled, requests arriving on the Server-Sent Events stream, newest first, without duplicates,
 * capped at the most recent `maximumTailedRows`. EventSource reconnects by itself and sends Last-Event-ID, so the
 * API replays what a dropped connection missed.
 *
 * Turning the tail off closes the stream but keeps its rows: they are requests the list query has not fetched yet,
 * and dropping them at once showed the older cached list (or "No requests yet") while they existed (issue 19). The
 * page calls `clear` once the list has been fetched again. Other filters start over with no rows.
 */
export function useRequestLogTail(
  enabled: boolean,
  filters: RequestLogFilters,
): { rows: RequestLogSummary[]; connected: boolean; clear: () => void } {
  const [rows, setRows] = useState<RequestLogSummary[]>([]);
  const [connected, setConnected] = useState(false);
  // Keyed by the URL, not the filters object, so an equal filter set never reopens the stream.
  const filtersUrl = requestLogStreamUrl(filters);
  const streamUrl = enabled ? filtersUrl : null;
  useEffect(() => {
    setRows((current) => (current.length === 0 ? current : []));
  }, [filtersUrl]);
  useEffect(() => {
    if (!streamUrl) return;
    const source = new EventSource(streamUrl, { withCredentials: true });
    const receive = (message: MessageEvent<string>) => {
      const received = parseTailMessage(message.data).reverse();
      setRows((current) => {
        const known = new Set(current.map((row) => row.id));
        return [...received.filter((row) => !known.has(row.id)), ...current].slice(0, maximumTailedRows);
      });
    };
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener(requestLogEventName, receive);
    return () => {
      source.removeEventListener(requestLogEventName, receive);
      source.close();
      setConnected(false);
    };
  }, [streamUrl]);
  const clear = useCallback(() => setRows((current) => (current.length === 0 ? current : [])), []);
  return { rows, connected, clear };
}
