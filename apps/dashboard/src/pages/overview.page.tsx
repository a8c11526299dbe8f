import { Anchor, Button, Stack, Text } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { endpointQueries } from '../api/endpoints.api';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { parseTrafficRange, TrafficCharts } from '../components/traffic-charts';
import { useUrlFilters } from '../components/url-filters';
import { paths } from '../paths';
import { usePermissions } from '../session/session';

/** The landing page after sign-in: is traffic flowing, and what is being blocked (issue 19). */
export function OverviewPage() {
  const { canEdit } = usePermissions();
  const urlFilters = useUrlFilters();
  const range = parseTrafficRange(urlFilters.read('range'));
  // With no endpoint there can be no traffic: the first step is creating one.
  const endpoints = useInfiniteQuery(endpointQueries.list({}));

  const newEndpointButton = canEdit ? (
    <Button component={Link} to={paths.newEndpoint} leftSection={<IconPlus size={16} />}>
      New endpoint
    </Button>
  ) : null;

  let body;
  if (endpoints.isPending) body = <LoadingState label="Loading…" />;
  else if (endpoints.isError)
    body = (
      <ErrorState title="Could not load endpoints" error={endpoints.error} onRetry={() => void endpoints.refetch()} />
    );
  else if (endpoints.data.length === 0)
    body = (
      <EmptyState title="No endpoints yet" action={newEndpointButton}>
        Traffic appears here once a cloud endpoint receives requests. Create one, give it a Traffic Policy, and point
        your clients at its URL.
      </EmptyState>
    );
  else
    body = (
      <TrafficCharts
        endpointId={null}
        range={range}
        onRangeChange={(next) => urlFilters.write('range', next === '24h' ? null : next)}
        noTraffic={
          <Text size="sm">
            No data plane has reported a request in this window. Send a request to one of your{' '}
            <Anchor component={Link} to={paths.endpoints}>
              endpoints
            </Anchor>{' '}
            and it shows here within seconds; the{' '}
            <Anchor component={Link} to={paths.dataplanes}>
              data planes
            </Anchor>{' '}
            page tells whether they are connected.
          </Text>
        }
      />
    );

  return (
    <Stack gap={0}>
      <PageHeader
        title="Overview"
        description="Traffic at a glance: what flows, what is refused, and how fast it is answered."
        actions={endpoints.data?.length === 0 ? null : newEndpointButton}
      />
      {body}
    </Stack>
  );
}
