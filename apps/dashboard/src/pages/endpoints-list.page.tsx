import { Anchor, Button, Group, SegmentedControl, Stack, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconPlus, IconSearch } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link } from 'react-router';
import { endpointQueries, type Endpoint, type EndpointType } from '../api/endpoints.api';
import type { EndpointListFilters } from '../api/query-keys';
import { trafficQueries } from '../api/traffic.api';
import { EndpointTypeBadge } from '../components/endpoint-type-badge';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { formatCount } from '../components/traffic-charts';
import { UrlFilterTextInput, useUrlFilters } from '../components/url-filters';
import { paths } from '../paths';
import { usePermissions } from '../session/session';

type TypeFilter = 'all' | EndpointType;

/**
 * The API filters by exact URL; a full URL in the search box goes to the server (finding it on any page), anything
 * shorter narrows the rows already loaded.
 */
function serverFiltersFor(type: TypeFilter, search: string): EndpointListFilters {
  const filters: EndpointListFilters = type === 'all' ? {} : { type };
  if (/^https?:\/\/[^/\s]+\/?$/i.test(search)) filters.url = search.replace(/\/$/, '').toLowerCase();
  return filters;
}

export function EndpointsListPage() {
  const { canEdit } = usePermissions();
  const urlFilters = useUrlFilters();
  const typeFilter = (urlFilters.read('type') || 'all') as TypeFilter;
  const search = urlFilters.read('q');
  const [debouncedSearch] = useDebouncedValue(search.trim(), 300);
  const filters = useMemo(() => serverFiltersFor(typeFilter, debouncedSearch), [typeFilter, debouncedSearch]);
  const endpoints = useInfiniteQuery(endpointQueries.list(filters));
  // Requests and denials of the last 24 h per endpoint (one request for the whole list; absent = no traffic).
  const traffic = useQuery(trafficQueries.endpoints('24h'));
  const trafficCell = (endpoint: Endpoint, field: 'requests' | 'denied') => {
    if (!traffic.data)
      return (
        <Text size="sm" c="dimmed">
          {traffic.isError ? '?' : '…'}
        </Text>
      );
    const value = traffic.data.get(endpoint.id)?.[field] ?? 0;
    return (
      <Anchor
        component={Link}
        to={paths.endpointTraffic(endpoint.id)}
        size="sm"
        c={field === 'denied' && value > 0 ? 'red.9' : undefined}
        aria-label={`${formatCount(value)} ${field === 'requests' ? 'requests' : 'denied'} in 24 h for ${endpoint.url}`}
        data-testid={`endpoint-${field}-24h`}
      >
        {formatCount(value)}
      </Anchor>
    );
  };

  /** A search shorter than a full URL narrows the rows already loaded. */
  const narrowBySearch = (loaded: readonly Endpoint[]) => {
    if (!debouncedSearch || filters.url) return loaded;
    const needle = debouncedSearch.toLowerCase();
    return loaded.filter(
      (endpoint) => endpoint.url.includes(needle) || endpoint.description.toLowerCase().includes(needle),
    );
  };

  const newEndpointButton = canEdit ? (
    <Button component={Link} to={paths.newEndpoint} leftSection={<IconPlus size={16} />}>
      New endpoint
    </Button>
  ) : null;

  return (
    <Stack>
      <PageHeader
        title="Endpoints"
        description="Cloud endpoints receive traffic; internal endpoints are private upstreams they forward to; agent endpoints are declared by gatehouse-agent sessions."
        actions={newEndpointButton}
      />
      <Group>
        <UrlFilterTextInput
          name="q"
          aria-label="Search endpoints"
          placeholder="Search by URL or description"
          leftSection={<IconSearch size={16} />}
          w={340}
        />
        <SegmentedControl
          aria-label="Endpoint type"
          value={typeFilter}
          onChange={(value) => urlFilters.write('type', value === 'all' ? null : value)}
          data={[
            { label: 'All', value: 'all' },
            { label: 'Cloud', value: 'cloud' },
            { label: 'Internal', value: 'internal' },
            { label: 'Agent', value: 'agent' },
          ]}
        />
      </Group>

      <PagedTable
        query={endpoints}
        rows={narrowBySearch}
        loadingLabel="Loading endpoints…"
        errorTitle="Could not load endpoints"
        empty={
          debouncedSearch || typeFilter !== 'all' ? (
            <EmptyState title="No endpoint matches">Try another search or type.</EmptyState>
          ) : (
            <EmptyState title="No endpoints yet" action={newEndpointButton}>
              Create a cloud endpoint to receive traffic, or an internal endpoint for a private upstream such as an MCP
              server.
            </EmptyState>
          )
        }
        minWidth={720}
        testId="endpoints-table"
        tableProps={{ highlightOnHover: true }}
        rowKey={(endpoint) => endpoint.id}
        columns={[
          {
            header: 'URL',
            cell: (endpoint) => (
              <>
                <Anchor component={Link} to={paths.endpoint(endpoint.id)} ff="monospace" size="sm">
                  {endpoint.url}
                </Anchor>
                {endpoint.upstream_url ? (
                  <Text size="xs" c="dimmed" ff="monospace">
                    → {endpoint.upstream_url}
                  </Text>
                ) : null}
                {endpoint.agent ? (
                  <Text size="xs" c="dimmed" data-testid="agent-online-members">
                    {endpoint.agent.online_members} of {endpoint.agent.members.length} agent
                    {endpoint.agent.members.length === 1 ? '' : 's'} online
                    {endpoint.agent.pooling_enabled ? ' (pooled)' : ''}
                  </Text>
                ) : null}
              </>
            ),
          },
          { header: 'Type', cell: (endpoint) => <EndpointTypeBadge type={endpoint.type} /> },
          {
            header: 'Policy version',
            cell: (endpoint) =>
              endpoint.policy_version === null ? (
                <Text size="sm" c="dimmed">
                  none
                </Text>
              ) : (
                <Text size="sm">v{endpoint.policy_version}</Text>
              ),
          },
          { header: 'Requests 24h', cell: (endpoint) => trafficCell(endpoint, 'requests') },
          { header: 'Denied 24h', cell: (endpoint) => trafficCell(endpoint, 'denied') },
          {
            header: 'Description',
            cell: (endpoint) => (
              <Text size="sm" lineClamp={1}>
                {endpoint.description}
              </Text>
            ),
          },
          {
            header: 'Last change',
            cell: (endpoint) => (
              <Text size="sm">
                <RelativeTime timestamp={endpoint.updated_at} />
              </Text>
            ),
          },
        ]}
      />
    </Stack>
  );
}
