import {
  Badge,
  Button,
  Drawer,
  Group,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { endpointQueries } from '../api/endpoints.api';
import type { RequestLogFilters } from '../api/query-keys';
import { requestLogQueries, useRequestLogTail, type RequestLogSummary } from '../api/request-logs.api';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RequestLogDetails, statusColor } from '../components/request-log-details';
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
  const [searchParameters, setSearchParameters] = useSearchParams();
  const read = (name: string) => searchParameters.get(name) ?? '';
  const [clientIp] = useDebouncedValue(read('client_ip').trim(), 300);
  const [status] = useDebouncedValue(read('status').trim(), 300);
  const [text] = useDebouncedValue(read('q').trim(), 300);
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
      from: toIsoTime(from),
      to: toIsoTime(to),
    };
    return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined));
  }, [endpointId, method, action, status, clientIp, text, from, to]);
  const [liveTail, setLiveTail] = useState(false);
  const [selected, setSelected] = useState<RequestLogSummary | null>(null);
  const selectedDetail = useQuery({ ...requestLogQueries.detail(selected?.id ?? ''), enabled: selected !== null });

  const endpointPages = useInfiniteQuery(endpointQueries.list({}));
  const endpointOptions = useMemo(
    () =>
      (endpointPages.data?.pages ?? [])
        .flatMap((page) => page.endpoints)
        .map((endpoint) => ({ value: endpoint.id, label: endpoint.url })),
    [endpointPages.data],
  );
  const requestLogs = useInfiniteQuery(requestLogQueries.list(filters));
  const tail = useRequestLogTail(liveTail, filters);
  const rows = useMemo(() => {
    const listed = requestLogs.data?.pages.flatMap((page) => page.request_logs) ?? [];
    const tailedIds = new Set(tail.rows.map((row) => row.id));
    return [...tail.rows, ...listed.filter((row) => !tailedIds.has(row.id))];
  }, [requestLogs.data, tail.rows]);

  const setFilter = (name: string, value: string | null) => {
    const next = new URLSearchParams(searchParameters);
    if (value) next.set(name, value);
    else next.delete(name);
    setSearchParameters(next, { replace: true });
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
        <Select
          label="Endpoint"
          placeholder="Any endpoint"
          data={endpointOptions}
          value={endpointId || null}
          onChange={(value) => setFilter('endpoint_id', value)}
          clearable
          searchable
          w={260}
        />
        <TextInput
          label="Status"
          placeholder="429 or 4xx"
          value={read('status')}
          onChange={(event) => setFilter('status', event.currentTarget.value)}
          w={100}
        />
        <Select
          label="Method"
          placeholder="Any"
          data={methods}
          value={method || null}
          onChange={(value) => setFilter('method', value)}
          clearable
          w={120}
        />
        <Select
          label="Decision"
          placeholder="Any action"
          data={decisionActions}
          value={action || null}
          onChange={(value) => setFilter('action', value)}
          clearable
          w={190}
        />
        <TextInput
          label="Client IP"
          placeholder="e.g. 160.79.104.10"
          value={read('client_ip')}
          onChange={(event) => setFilter('client_ip', event.currentTarget.value)}
          w={170}
        />
        <TextInput
          label="From"
          type="datetime-local"
          value={from}
          onChange={(event) => setFilter('from', event.currentTarget.value)}
          w={200}
        />
        <TextInput
          label="To"
          type="datetime-local"
          value={to}
          onChange={(event) => setFilter('to', event.currentTarget.value)}
          w={200}
        />
        <TextInput
          label="Path or text"
          placeholder="e.g. /mcp"
          value={read('q')}
          onChange={(event) => setFilter('q', event.currentTarget.value)}
          w={180}
        />
      </Group>

      {requestLogs.isPending ? (
        <LoadingState label="Loading requests…" />
      ) : requestLogs.isError ? (
        <ErrorState
          title="Could not load the request log"
          error={requestLogs.error}
          onRetry={() => void requestLogs.refetch()}
        />
      ) : rows.length === 0 ? (
        <EmptyState title={Object.keys(filters).length > 0 ? 'No request matches' : 'No requests yet'}>
          {Object.keys(filters).length > 0
            ? 'Try wider filters or another time range.'
            : 'Requests appear here within a second of a data plane handling them. Turn on live tail to watch them arrive.'}
        </EmptyState>
      ) : (
        <>
          <Table.ScrollContainer minWidth={900}>
            <Table highlightOnHover verticalSpacing={6} fz="sm" data-testid="request-logs-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Request</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Decision</Table.Th>
                  <Table.Th>Client IP</Table.Th>
                  <Table.Th>Duration</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((row) => (
                  <Table.Tr key={row.id} onClick={() => setSelected(row)} style={{ cursor: 'pointer' }}>
                    <Table.Td>
                      <UnstyledButton
                        onClick={() => setSelected(row)}
                        aria-label={`Details of ${row.method} ${row.path} at ${formatAbsoluteTime(row.timestamp)}`}
                      >
                        <Text size="sm" ff="monospace">
                          {new Date(row.timestamp).toLocaleTimeString()}
                        </Text>
                      </UnstyledButton>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace" lineClamp={1}>
                        {row.method} {row.host}
                        {row.path}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={statusColor(row.status)} variant="light">
                        {row.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {row.decision ? (
                        <Text size="sm" lineClamp={1}>
                          {row.decision.action}
                          {row.decision.rule_name ? ` · ${row.decision.rule_name}` : ''}
                        </Text>
                      ) : (
                        <Text size="sm" c="dimmed">
                          {row.forwarded_to ? 'forwarded' : '—'}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {row.client_ip}
                      </Text>
                    </Table.Td>
                    <Table.Td>{row.duration_ms.toFixed(1)} ms</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {requestLogs.hasNextPage ? (
            <Group justify="center">
              <Button
                variant="default"
                loading={requestLogs.isFetchingNextPage}
                onClick={() => void requestLogs.fetchNextPage()}
              >
                Load older requests
              </Button>
            </Group>
          ) : null}
        </>
      )}
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
