import { Badge, Drawer, Group, Stack, Switch, Text, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { endpointQueries } from '../api/endpoints.api';
import type { RequestLogFilters } from '../api/query-keys';
import { requestLogQueries, useRequestLogTail, type RequestLogSummary } from '../api/request-logs.api';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { callerLabel, RequestLogDetails, statusColor } from '../components/request-log-details';
import { UrlFilterSelect, UrlFilterTextInput, useUrlFilters } from '../components/url-filters';
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

/** datetime-local input value (local time, no zone) to RFC 3339. */
function toIsoTime(localValue: string): string | undefined {
  if (!localValue) return undefined;
  const time = new Date(localValue);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

export function RequestLogsPage() {
  const { read } = useUrlFilters();
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
  const filters = useMemo<RequestLogFilters>(() => {
    const chosen: RequestLogFilters = {
      endpoint_id: endpointId || undefined,
      method: method || undefined,
      action: action || undefined,
      status: /^(\d{3}|[1-5]xx)$/i.test(status) ? status.toLowerCase() : undefined,
      client_ip: clientIp || undefined,
      q: text || undefined,
      tool: tool || undefined,
      caller: caller || undefined,
      from: toIsoTime(from),
      to: toIsoTime(to),
    };
    return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined));
  }, [endpointId, method, action, status, clientIp, text, tool, caller, from, to]);
  const filtered = Object.keys(filters).length > 0;
  const [liveTail, setLiveTail] = useState(false);
  const [selected, setSelected] = useState<RequestLogSummary | null>(null);
  const selectedDetail = useQuery({ ...requestLogQueries.detail(selected?.id ?? ''), enabled: selected !== null });

  const endpoints = useInfiniteQuery(endpointQueries.list({}));
  const endpointOptions = useMemo(
    () => (endpoints.data ?? []).map((endpoint) => ({ value: endpoint.id, label: endpoint.url })),
    [endpoints.data],
  );
  const requestLogs = useInfiniteQuery(requestLogQueries.list(filters));
  const tail = useRequestLogTail(liveTail, filters);
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
          <Switch
            label={liveTail ? (tail.connected ? 'Live tail (connected)' : 'Live tail (connecting…)') : 'Live tail'}
            checked={liveTail}
            onChange={(event) => setLiveTail(event.currentTarget.checked)}
          />
        }
      />
      <Group align="flex-end" gap="sm">
        <UrlFilterSelect
          name="endpoint_id"
          label="Endpoint"
          placeholder="Any endpoint"
          data={endpointOptions}
          searchable
          w={260}
        />
        <UrlFilterTextInput name="status" label="Status" placeholder="429 or 4xx" w={100} />
        <UrlFilterSelect name="method" label="Method" placeholder="Any" data={methods} w={120} />
        <UrlFilterSelect name="action" label="Decision" placeholder="Any action" data={decisionActions} w={190} />
        <UrlFilterTextInput name="client_ip" label="Client IP" placeholder="e.g. 160.79.104.10" w={170} />
        <UrlFilterTextInput name="from" label="From" type="datetime-local" w={200} />
        <UrlFilterTextInput name="to" label="To" type="datetime-local" w={200} />
        <UrlFilterTextInput name="q" label="Path or text" placeholder="e.g. /mcp" w={180} />
        <UrlFilterTextInput name="tool" label="MCP tool" placeholder="exact, e.g. search" w={160} />
        <UrlFilterTextInput name="caller" label="Caller" placeholder="sub, client, user or sha256:…" w={200} />
      </Group>

      <PagedTable
        query={requestLogs}
        rows={withTailedRows}
        loadingLabel="Loading requests…"
        errorTitle="Could not load the request log"
        empty={
          <EmptyState title={filtered ? 'No request matches' : 'No requests yet'}>
            {filtered
              ? 'Try wider filters or another time range.'
              : 'Requests appear here within a second of a data plane handling them. Turn on live tail to watch them arrive.'}
          </EmptyState>
        }
        minWidth={900}
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
              <Text size="sm" ff="monospace" lineClamp={1}>
                {row.method} {row.host}
                {row.path}
              </Text>
            ),
          },
          {
            header: 'Status',
            cell: (row) => (
              <Badge color={statusColor(row.status)} variant="light">
                {row.status}
              </Badge>
            ),
          },
          {
            header: 'Decision',
            cell: (row) =>
              row.decision ? (
                <Text size="sm" lineClamp={1}>
                  {row.decision.action}
                  {row.decision.rule_name ? ` · ${row.decision.rule_name}` : ''}
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  {row.forwarded_to ? 'forwarded' : '—'}
                </Text>
              ),
          },
          {
            header: 'Client IP',
            cell: (row) => (
              <Text size="sm" ff="monospace">
                {row.client_ip}
              </Text>
            ),
          },
          {
            header: 'MCP tool',
            cell: (row) =>
              row.mcp?.tool ? (
                <Text size="sm" ff="monospace" lineClamp={1}>
                  {row.mcp.tool}
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  —
                </Text>
              ),
          },
          {
            header: 'Caller',
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
          { header: 'Duration', cell: (row) => `${row.duration_ms.toFixed(1)} ms` },
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
