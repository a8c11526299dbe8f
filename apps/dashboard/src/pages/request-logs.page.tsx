import { parseClientIpFilter } from '@gatehouse/traffic-policy';
import { Badge, Button, Drawer, Group, Stack, Switch, Text, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconRefresh } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { endpointQueries } from '../api/endpoints.api';
import type { RequestLogFilters } from '../api/query-keys';
import { requestLogQueries, useRequestLogTail, type RequestLogSummary } from '../api/request-logs.api';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { callerLabel, RequestLogDetails, statusColor } from '../components/request-log-details';
import { decisionRowLabel, statusNote } from '../components/request-log-insights';
import { FilterBar, UrlFilterSelect, UrlFilterTextInput, useUrlFilters } from '../components/url-filters';
import { formatAbsoluteTime } from '../lib/format-time';

const decisionActions = [
  'forward-internal',
  'deny',
  'custom-response',
  'redirect',
  'rate-limit',
  'jwt-validation',
  'basic-auth',
  'restrict-ips',
  'close-connection',
];
const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/** Every URL parameter the filter bar sets: it counts them on phones and "Clear filters" removes them. */
const filterNames = ['endpoint_id', 'status', 'method', 'action', 'client_ip', 'from', 'to', 'q', 'tool', 'caller'];

/** datetime-local input value (local time, no zone) to RFC 3339. */
function toIsoTime(localValue: string): string | undefined {
  if (!localValue) return undefined;
  const time = new Date(localValue);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

const statusPattern = /^(\d{3}|[1-5]xx)$/i;

export function RequestLogsPage() {
  const urlFilters = useUrlFilters();
  const { read } = urlFilters;
  const [clientIp] = useDebouncedValue(read('client_ip').trim(), 300);
  const [status] = useDebouncedValue(read('status').trim(), 300);
  const [text] = useDebouncedValue(read('q').trim(), 300);
  const [tool] = useDebouncedValue(read('tool').trim(), 300);
  const [caller] = useDebouncedValue(read('caller').trim(), 300);
  const endpointId = read('endpoint_id');
  const method = read('method');
  const action = read('action');
  const from = read('from');
  const to = read('to');
  // A value the API would refuse is said next to its field and left out of the query: it must never quietly match
  // nothing (issue 19). The client rule is the API's own (an address, a CIDR or leading IPv4 octets).
  const statusProblem = status && !statusPattern.test(status) ? 'A status (429) or a class (4xx)' : null;
  const clientIpProblem =
    clientIp && parseClientIpFilter(clientIp) === undefined
      ? 'An address (160.79.104.10), a CIDR (160.79.104.0/21) or leading octets (160.79)'
      : null;
  const filters = useMemo<RequestLogFilters>(() => {
    const chosen: RequestLogFilters = {
      endpoint_id: endpointId || undefined,
      method: method || undefined,
      action: action || undefined,
      status: statusPattern.test(status) ? status.toLowerCase() : undefined,
      client_ip: clientIp && parseClientIpFilter(clientIp) !== undefined ? clientIp : undefined,
      q: text || undefined,
      tool: tool || undefined,
      caller: caller || undefined,
      from: toIsoTime(from),
      to: toIsoTime(to),
    };
    return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined));
  }, [endpointId, method, action, status, clientIp, text, tool, caller, from, to]);
  const filtered = Object.keys(filters).length > 0 || urlFilters.any;
  const [liveTail, setLiveTail] = useState(false);
  const [clicked, setClicked] = useState<RequestLogSummary | null>(null);
  // `?request=<id>` opens one request (a replay's examples link here), whatever the list shows.
  const [searchParameters, setSearchParameters] = useSearchParams();
  const linkedId = searchParameters.get('request');
  const linked = useQuery({
    ...requestLogQueries.detail(linkedId ?? ''),
    enabled: linkedId !== null && clicked === null,
  });
  const selected: RequestLogSummary | null = clicked ?? (linkedId !== null ? (linked.data ?? null) : null);
  const setSelected = (row: RequestLogSummary | null) => {
    setClicked(row);
    if (row === null && linkedId !== null)
      setSearchParameters(
        (current) => {
          const next = new URLSearchParams(current);
          next.delete('request');
          return next;
        },
        { replace: true },
      );
  };
  const selectedDetail = useQuery({ ...requestLogQueries.detail(selected?.id ?? ''), enabled: selected !== null });

  const endpoints = useInfiniteQuery(endpointQueries.list({}));
  const endpointOptions = useMemo(
    () => (endpoints.data ?? []).map((endpoint) => ({ value: endpoint.id, label: endpoint.url })),
    [endpoints.data],
  );
  const requestLogs = useInfiniteQuery(requestLogQueries.list(filters));
  const tail = useRequestLogTail(liveTail, filters);
  const { refetch } = requestLogs;
  /**
   * Switching the tail either way fetches the list again: on, so nothing between the last fetch and the stream's
   * start is missing; off, so the requests the tail brought are in the list before its own rows go (issue 19: they
   * vanished, or "No requests yet" showed, until the cached list was refetched on its own).
   */
  const switchLiveTail = (on: boolean) => {
    setLiveTail(on);
    void refetch().then(() => {
      if (!on) tail.clear();
    });
  };
  /** Live-tailed requests first, then the listed ones the tail did not bring. */
  const withTailedRows = (listed: readonly RequestLogSummary[]) => {
    const tailedIds = new Set(tail.rows.map((row) => row.id));
    return [...tail.rows, ...listed.filter((row) => !tailedIds.has(row.id))];
  };

  return (
    <Stack>
      <PageHeader
        title="Request log"
        description="Every request the data planes handled, with the rule and action that decided it."
        actions={
          <Group gap="md">
            <Button
              variant="default"
              size="xs"
              leftSection={<IconRefresh size={14} />}
              loading={requestLogs.isRefetching && !requestLogs.isFetchingNextPage}
              onClick={() => void refetch()}
            >
              Refresh
            </Button>
            <Switch
              label={liveTail ? (tail.connected ? 'Live tail (connected)' : 'Live tail (connecting…)') : 'Live tail'}
              checked={liveTail}
              onChange={(event) => switchLiveTail(event.currentTarget.checked)}
            />
          </Group>
        }
      />
      <FilterBar names={filterNames}>
        <UrlFilterSelect
          name="endpoint_id"
          label="Endpoint"
          placeholder="Any endpoint"
          data={endpointOptions}
          searchable
          w={260}
        />
        <UrlFilterTextInput name="status" label="Status" placeholder="429 or 4xx" w={100} error={statusProblem} />
        <UrlFilterSelect name="method" label="Method" placeholder="Any" data={methods} w={120} />
        <UrlFilterSelect name="action" label="Decision" placeholder="Any action" data={decisionActions} w={190} />
        <UrlFilterTextInput
          name="client_ip"
          label="Client IP or range"
          placeholder="160.79.104.0/21"
          w={190}
          error={clientIpProblem}
        />
        <UrlFilterTextInput name="from" label="From" type="datetime-local" w={200} />
        <UrlFilterTextInput name="to" label="To" type="datetime-local" w={200} />
        <UrlFilterTextInput name="q" label="Path, host or MCP method" placeholder="/mcp, tools/call" w={200} />
        <UrlFilterTextInput name="tool" label="MCP tool" placeholder="exact, e.g. search" w={160} />
        <UrlFilterTextInput name="caller" label="Caller" placeholder="sub, client, user or sha256:…" w={200} />
      </FilterBar>

      <PagedTable
        query={requestLogs}
        rows={withTailedRows}
        loadingLabel="Loading requests…"
        errorTitle="Could not load the request log"
        empty={
          <EmptyState title={filtered ? 'No request matches' : liveTail ? 'Waiting for requests' : 'No requests yet'}>
            {filtered
              ? 'Try wider filters or another time range, or clear the filters.'
              : liveTail
                ? 'Live tail is on: requests show here as soon as a data plane handles them.'
                : 'Requests appear here within a second of a data plane handling them. Turn on live tail to watch them arrive.'}
          </EmptyState>
        }
        minWidth={900}
        // A phone keeps when, what, its status and the decision; the rest is in the drawer a row opens.
        mobileMinWidth={340}
        testId="request-logs-table"
        tableProps={{ highlightOnHover: true, verticalSpacing: 6, fz: 'sm' }}
        rowKey={(row) => row.id}
        rowProps={(row) => ({ onClick: () => setSelected(row), style: { cursor: 'pointer' } })}
        loadMoreLabel="Load older requests"
        columns={[
          {
            header: 'Time',
            cell: (row) => (
              <UnstyledButton
                onClick={() => setSelected(row)}
                aria-label={`Details of ${row.method} ${row.path} at ${formatAbsoluteTime(row.timestamp)}`}
              >
                <Text size="sm" ff="monospace">
                  {new Date(row.timestamp).toLocaleTimeString()}
                </Text>
              </UnstyledButton>
            ),
          },
          {
            header: 'Request',
            cell: (row) => (
              <Text size="sm" ff="monospace" lineClamp={2} style={{ wordBreak: 'break-all' }}>
                {row.method} {row.host}
                {row.path}
              </Text>
            ),
          },
          {
            header: 'Status',
            cell: (row) => {
              const note = statusNote(row.status);
              return (
                <Badge
                  color={statusColor(row.status)}
                  variant="light"
                  tt="none"
                  title={note ?? undefined}
                  // The note is the point of the badge: never cut to "429 rat…".
                  styles={{ label: { overflow: 'visible' } }}
                >
                  {row.status}
                  {note ? ` ${note}` : ''}
                </Badge>
              );
            },
          },
          {
            header: 'Decision',
            cell: (row) =>
              row.decision ? (
                <Text
                  size="sm"
                  lineClamp={2}
                  style={{ wordBreak: 'break-word' }}
                  title={decisionRowLabel(row.decision)}
                >
                  {decisionRowLabel(row.decision)}
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  {row.forwarded_to ? 'forwarded' : '—'}
                </Text>
              ),
          },
          {
            header: 'Client IP',
            visibleFrom: 'sm',
            cell: (row) => (
              <Text size="sm" ff="monospace">
                {row.client_ip}
              </Text>
            ),
          },
          {
            header: 'MCP',
            visibleFrom: 'sm',
            cell: (row) =>
              row.mcp ? (
                <Text size="sm" ff="monospace" lineClamp={2} style={{ wordBreak: 'break-word' }}>
                  {row.mcp.method}
                  {row.mcp.tool ? ` · ${row.mcp.tool}` : ''}
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  —
                </Text>
              ),
          },
          {
            header: 'Caller',
            visibleFrom: 'sm',
            cell: (row) => {
              const label = callerLabel(row.caller);
              return label ? (
                <Text size="sm" ff="monospace" lineClamp={1} title={label}>
                  {label}
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  —
                </Text>
              );
            },
          },
          { header: 'Duration', cell: (row) => `${row.duration_ms.toFixed(1)} ms`, visibleFrom: 'sm' },
        ]}
      />
      <Drawer
        opened={selected !== null}
        onClose={() => setSelected(null)}
        position="right"
        size="xl"
        title={<Text fw={600}>Request</Text>}
      >
        {selected ? <RequestLogDetails summary={selected} detail={selectedDetail.data} /> : null}
      </Drawer>
    </Stack>
  );
}
