import { Badge, Code, Stack, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { dataplaneQueries } from '../api/dataplanes.api';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';

export function DataplanesPage() {
  const dataplanes = useQuery(dataplaneQueries.list());

  return (
    <Stack>
      <PageHeader
        title="Data planes"
        description="Every data plane reports the config revision it runs every 30 seconds. Lag is how many changes it is behind."
      />
      <PagedTable
        query={dataplanes}
        loadingLabel="Loading the fleet…"
        errorTitle="Could not load data planes"
        empty={
          <EmptyState title="No data plane has reported in yet">
            Start one with <Code>npm run start -w apps/dataplane</Code> (or <Code>npm start</Code> for the embedded
            shape); it appears here after its first heartbeat.
          </EmptyState>
        }
        minWidth={980}
        mobileMinWidth={340}
        testId="dataplanes-table"
        rowKey={(dataplane) => dataplane.id}
        columns={[
          {
            header: 'Host',
            cell: (dataplane) => (
              <>
                <Text size="sm">{dataplane.hostname}</Text>
                <Text size="xs" c="dimmed" ff="monospace">
                  {dataplane.id}
                </Text>
              </>
            ),
          },
          {
            header: 'Status',
            cell: (dataplane) => (
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
            ),
          },
          {
            header: 'Traffic address',
            visibleFrom: 'sm',
            cell: (dataplane) =>
              dataplane.traffic === null ? (
                <Text size="xs" c="dimmed">
                  not reported
                </Text>
              ) : (
                <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }} data-testid="dataplane-traffic-url">
                  {dataplane.traffic.url}
                </Text>
              ),
          },
          {
            header: 'Applied revision',
            visibleFrom: 'md',
            cell: (dataplane) => (
              <Text size="sm" ff="monospace">
                {dataplane.applied_revision}
              </Text>
            ),
          },
          {
            header: 'Lag',
            visibleFrom: 'sm',
            cell: (dataplane) => (
              <Text size="sm" c={dataplane.lag > 0 ? 'orange' : undefined}>
                {dataplane.lag === 0 ? 'up to date' : `${dataplane.lag} behind`}
              </Text>
            ),
          },
          { header: 'Version', cell: (dataplane) => <Text size="sm">{dataplane.version}</Text>, visibleFrom: 'md' },
          {
            header: 'Last seen',
            visibleFrom: 'sm',
            cell: (dataplane) => (
              <Text size="sm">
                <RelativeTime timestamp={dataplane.last_heartbeat_at} />
              </Text>
            ),
          },
        ]}
      />
    </Stack>
  );
}
