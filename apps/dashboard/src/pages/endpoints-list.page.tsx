import { Anchor, Button, Group, SegmentedControl, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconPlus, IconSearch } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { endpointQueries, type EndpointType } from '../api/endpoints.api';
import type { EndpointListFilters } from '../api/query-keys';
import { EndpointTypeBadge } from '../components/endpoint-type-badge';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
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
  const [searchParameters, setSearchParameters] = useSearchParams();
  const typeFilter = (searchParameters.get('type') as TypeFilter | null) ?? 'all';
  const search = searchParameters.get('q') ?? '';
  const [debouncedSearch] = useDebouncedValue(search.trim(), 300);
  const filters = useMemo(() => serverFiltersFor(typeFilter, debouncedSearch), [typeFilter, debouncedSearch]);
  const endpoints = useInfiniteQuery(endpointQueries.list(filters));

  const updateParameter = (name: string, value: string, emptyValue: string) => {
    const next = new URLSearchParams(searchParameters);
    if (value === emptyValue) next.delete(name);
    else next.set(name, value);
    setSearchParameters(next, { replace: true });
  };

  const rows = useMemo(() => {
    const all = endpoints.data?.pages.flatMap((page) => page.endpoints) ?? [];
    if (!debouncedSearch || filters.url) return all;
    const needle = debouncedSearch.toLowerCase();
    return all.filter(
      (endpoint) => endpoint.url.includes(needle) || endpoint.description.toLowerCase().includes(needle),
    );
  }, [endpoints.data, debouncedSearch, filters.url]);

  const newEndpointButton = canEdit ? (
    <Button component={Link} to={paths.newEndpoint} leftSection={<IconPlus size={16} />}>
      New endpoint
    </Button>
  ) : null;

  return (
    <Stack>
      <PageHeader
        title="Endpoints"
        description="Cloud endpoints receive traffic; internal endpoints are private upstreams they forward to."
        actions={newEndpointButton}
      />
      <Group>
        <TextInput
          aria-label="Search endpoints"
          placeholder="Search by URL or description"
          leftSection={<IconSearch size={16} />}
          value={search}
          onChange={(event) => updateParameter('q', event.currentTarget.value, '')}
          w={340}
        />
        <SegmentedControl
          aria-label="Endpoint type"
          value={typeFilter}
          onChange={(value) => updateParameter('type', value, 'all')}
          data={[
            { label: 'All', value: 'all' },
            { label: 'Cloud', value: 'cloud' },
            { label: 'Internal', value: 'internal' },
          ]}
        />
      </Group>

      {endpoints.isPending ? (
        <LoadingState label="Loading endpoints…" />
      ) : endpoints.isError ? (
        <ErrorState title="Could not load endpoints" error={endpoints.error} onRetry={() => void endpoints.refetch()} />
      ) : rows.length === 0 ? (
        debouncedSearch || typeFilter !== 'all' ? (
          <EmptyState title="No endpoint matches">Try another search or type.</EmptyState>
        ) : (
          <EmptyState title="No endpoints yet" action={newEndpointButton}>
            Create a cloud endpoint to receive traffic, or an internal endpoint for a private upstream such as an MCP
            server.
          </EmptyState>
        )
      ) : (
        <>
          <Table.ScrollContainer minWidth={720}>
            <Table highlightOnHover verticalSpacing="sm" data-testid="endpoints-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>URL</Table.Th>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Policy version</Table.Th>
                  <Table.Th>Description</Table.Th>
                  <Table.Th>Last change</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((endpoint) => (
                  <Table.Tr key={endpoint.id}>
                    <Table.Td>
                      <Anchor component={Link} to={paths.endpoint(endpoint.id)} ff="monospace" size="sm">
                        {endpoint.url}
                      </Anchor>
                      {endpoint.upstream_url ? (
                        <Text size="xs" c="dimmed" ff="monospace">
                          → {endpoint.upstream_url}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>
                      <EndpointTypeBadge type={endpoint.type} />
                    </Table.Td>
                    <Table.Td>
                      {endpoint.policy_version === null ? (
                        <Text size="sm" c="dimmed">
                          none
                        </Text>
                      ) : (
                        <Text size="sm">v{endpoint.policy_version}</Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" lineClamp={1}>
                        {endpoint.description}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        <RelativeTime timestamp={endpoint.updated_at} />
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {endpoints.hasNextPage ? (
            <Group justify="center">
              <Button
                variant="default"
                loading={endpoints.isFetchingNextPage}
                onClick={() => void endpoints.fetchNextPage()}
              >
                Load more
              </Button>
            </Group>
          ) : null}
        </>
      )}
    </Stack>
  );
}
