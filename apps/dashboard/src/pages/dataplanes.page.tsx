import { Badge, Code, Stack, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { dataplaneQueries, type Dataplane } from '../api/dataplanes.api';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { formatCount } from '../components/traffic-charts';
import { plural } from '../lib/plural';

/**
 * Whether the data plane's request events are reaching the request-log queue, from its last heartbeat: delivering,
 * waiting in the data plane (Redis down or slow, or the queue at DATAPLANE_EVENT_QUEUE_MAX_BATCHES because no worker
 * drains it), or lost.
 */
function RequestEventsCell({ events }: { events: Dataplane['request_events'] }) {
  // No queue (the embedded shape stores events in process) or a data plane older than the field.
  if (events === null)
    return (
      <Text size="xs" c="dimmed" data-testid="dataplane-request-events">
        not reported
      </Text>
    );
  const [color, label, explanation] =
    events.dropped > 0
      ? [
          'red',
          `${formatCount(events.dropped)} dropped`,
          'Request events this data plane lost since it started: its memory buffer and spill file were full, or it stopped with events undelivered.',
        ]
      : events.buffered > 0
        ? [
            'orange',
            `${formatCount(events.buffered)} waiting`,
            "Request events held in this data plane: Redis is down or slow, or the request-log queue is full because the API's worker is not draining it. They are sent once it is back.",
          ]
        : ['green', 'delivering', 'Request events reach the request-log queue as they happen.'];
  return (
    <Stack gap={2} align="flex-start" data-testid="dataplane-request-events">
      <Tooltip label={explanation} multiline w={320}>
        <Badge variant="light" color={color}>
          {label}
        </Badge>
      </Tooltip>
      {events.queued_batches === null ? null : (
        <Text size="xs" c="dimmed">
          {plural(events.queued_batches, 'batch', 'batches')} queued
        </Text>
      )}
      {events.spilled > 0 ? (
        <Text size="xs" c="dimmed">
          {formatCount(events.spilled)} spilled to disk
        </Text>
      ) : null}
    </Stack>
  );
}

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
            header: 'Request events',
            visibleFrom: 'sm',
            cell: (dataplane) => <RequestEventsCell events={dataplane.request_events} />,
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
