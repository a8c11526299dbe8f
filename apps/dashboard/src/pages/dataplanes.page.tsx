import { Badge, Code, Stack, Table, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { dataplaneQueries } from '../api/dataplanes.api';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';

export function DataplanesPage() {
  const dataplanes = useQuery(dataplaneQueries.list());

  return (
    <Stack>
      <PageHeader
        title="Data planes"
        description="Every data plane reports the config revision it runs every 30 seconds. Lag is how many changes it is behind."
      />
      {dataplanes.isPending ? (
        <LoadingState label="Loading the fleet…" />
      ) : dataplanes.isError ? (
        <ErrorState
          title="Could not load data planes"
          error={dataplanes.error}
          onRetry={() => void dataplanes.refetch()}
        />
      ) : dataplanes.data.dataplanes.length === 0 ? (
        <EmptyState title="No data plane has reported in yet">
          Start one with <Code>npm run start -w apps/dataplane</Code> (or <Code>npm start</Code> for the embedded
          shape); it appears here after its first heartbeat.
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={820}>
          <Table verticalSpacing="sm" data-testid="dataplanes-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Host</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Applied revision</Table.Th>
                <Table.Th>Lag</Table.Th>
                <Table.Th>Version</Table.Th>
                <Table.Th>Last seen</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {dataplanes.data.dataplanes.map((dataplane) => (
                <Table.Tr key={dataplane.id}>
                  <Table.Td>
                    <Text size="sm">{dataplane.hostname}</Text>
                    <Text size="xs" c="dimmed" ff="monospace">
                      {dataplane.id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Stack gap={2} align="flex-start">
                      <Badge variant="light" color={dataplane.status === 'online' ? 'green' : 'orange'}>
                        {dataplane.status}
                      </Badge>
                      {dataplane.last_error ? (
                        <Tooltip label={dataplane.last_error} multiline w={360}>
                          <Text size="xs" c="red" lineClamp={1}>
                            {dataplane.last_error}
                          </Text>
                        </Tooltip>
                      ) : null}
                    </Stack>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {dataplane.applied_revision}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c={dataplane.lag > 0 ? 'orange' : undefined}>
                      {dataplane.lag === 0 ? 'up to date' : `${dataplane.lag} behind`}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{dataplane.version}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      <RelativeTime timestamp={dataplane.last_heartbeat_at} />
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
