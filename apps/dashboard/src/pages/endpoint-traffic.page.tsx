import { Anchor, Text } from '@mantine/core';
import { Link } from 'react-router';
import { parseTrafficRange, TrafficCharts } from '../components/traffic-charts';
import { useUrlFilters } from '../components/url-filters';
import { paths } from '../paths';
import { useEndpointFromOutlet } from './endpoint-detail.page';

/** The endpoint's Traffic tab: the overview's charts for this endpoint only. */
export function EndpointTrafficPage() {
  const endpoint = useEndpointFromOutlet();
  const urlFilters = useUrlFilters();
  const range = parseTrafficRange(urlFilters.read('range'));
  return (
    <TrafficCharts
      endpointId={endpoint.id}
      range={range}
      onRangeChange={(next) => urlFilters.write('range', next === '24h' ? null : next)}
      noTraffic={
        <Text size="sm">
          {endpoint.type === 'internal'
            ? 'Requests are counted under the endpoint that received them.'
            : 'Send a request to this endpoint and it shows here within seconds.'}{' '}
          <Anchor component={Link} to={`${paths.requestLogs}?endpoint_id=${encodeURIComponent(endpoint.id)}`}>
            Open its request log
          </Anchor>
        </Text>
      }
    />
  );
}
