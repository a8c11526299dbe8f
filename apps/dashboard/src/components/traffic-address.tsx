import { Code, Paper, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { dataplaneQueries, type Dataplane } from '../api/dataplanes.api';
import type { Endpoint } from '../api/endpoints.api';

/** The data planes' traffic port unless DATAPLANE_PORT says otherwise (DESIGN.md §3): the fallback when none reported. */
const defaultTrafficPort = 8080;

/** The distinct addresses online data planes reported (several workers or replicas behind one load balancer agree). */
export function reportedTrafficUrls(dataplanes: readonly Dataplane[]): string[] {
  const urls = dataplanes
    .filter((dataplane) => dataplane.status === 'online')
    .map((dataplane) => dataplane.traffic?.url)
    .filter((url): url is string => url !== undefined);
  return [...new Set(urls)];
}

/**
 * Where traffic for this endpoint goes. A cloud endpoint is served by every data plane, routed by Host: clients call
 * its URL once DNS for its host points at a data plane. The addresses come from the online data planes' heartbeats;
 * only when none reported one (older data planes) does the panel fall back to the default port. An internal endpoint
 * has no public address at all — only a cloud endpoint's forward-internal reaches it — which is worth saying before
 * someone tries to curl it.
 */
export function TrafficAddress({ endpoint }: { endpoint: Endpoint }) {
  const dataplanes = useQuery(dataplaneQueries.list());
  if (endpoint.type === 'internal') {
    return (
      <Paper withBorder p="sm" data-testid="traffic-address">
        <Text size="sm">
          Reachable only through <Code>forward-internal</Code> from a cloud endpoint’s policy, with{' '}
          <Code>url: {endpoint.url}</Code>. It has no public address.
        </Text>
      </Paper>
    );
  }
  const online = (dataplanes.data ?? []).filter((dataplane) => dataplane.status === 'online');
  const addresses = reportedTrafficUrls(online);
  if (addresses.length > 0) {
    return (
      <Paper withBorder p="sm" data-testid="traffic-address">
        <Stack gap={4}>
          <Text size="sm">
            Send traffic to <Code>{endpoint.url}</Code>: point DNS for <Code>{endpoint.host}</Code> at{' '}
            {addresses.length === 1 ? 'the data plane address' : 'one of the data plane addresses'}{' '}
            {addresses.map((address, index) => (
              <span key={address}>
                {index > 0 ? ', ' : null}
                <Code data-testid="traffic-address-url">{address}</Code>
              </span>
            ))}
            . Data planes route by the Host header.
          </Text>
          <Text size="sm" c="dimmed">
            To try it before DNS:
          </Text>
          <Code
            block
            style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
          >{`curl -H 'Host: ${endpoint.host}' ${addresses[0]!.replace(/\/+$/, '')}/`}</Code>
        </Stack>
      </Paper>
    );
  }
  const example = online[0]?.hostname ?? 'DATAPLANE_HOST';
  return (
    <Paper withBorder p="sm" data-testid="traffic-address">
      <Stack gap={4}>
        <Text size="sm">
          Send traffic to <Code>{endpoint.url}</Code>: point DNS for <Code>{endpoint.host}</Code> at a data plane’s
          traffic port ({`DATAPLANE_PORT`}, {defaultTrafficPort} by default). Data planes route by the Host header.
        </Text>
        <Text size="sm" c="dimmed">
          {online.length === 0
            ? 'No data plane is online right now.'
            : `Online data planes: ${online.map((dataplane) => dataplane.hostname).join(', ')} (they did not report their address).`}{' '}
          To try it before DNS:
        </Text>
        <Code
          block
          style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
        >{`curl -H 'Host: ${endpoint.host}' http://${example}:${defaultTrafficPort}/`}</Code>
      </Stack>
    </Paper>
  );
}
