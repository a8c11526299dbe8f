import { TrafficAddress } from '../components/traffic-address';
import { Anchor, Breadcrumbs, Group, Stack, Tabs, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, Outlet, useLocation, useNavigate, useOutletContext, useParams } from 'react-router';
import { endpointQueries, type Endpoint } from '../api/endpoints.api';
import { ApiError } from '@gatehouse/api-client';
import { EndpointTypeBadge } from '../components/endpoint-type-badge';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { paths } from '../paths';
import { usePermissions } from '../session/session';
import { AgentEndpointPanel } from '../components/agent-endpoint-panel';

export interface EndpointOutletContext {
  endpoint: Endpoint;
}

/** The endpoint the surrounding detail page loaded, for its tabs. */
export function useEndpointFromOutlet(): Endpoint {
  return useOutletContext<EndpointOutletContext>().endpoint;
}

/**
 * Whether this user may change this endpoint. Agent endpoints belong to the agent session that declared them: the API
 * answers 409 ENDPOINT_OWNED_BY_AGENT, so the tabs offer no edit, delete or policy save (the reason is shown above).
 */
export function useEndpointEditing(endpoint: Endpoint): { canEdit: boolean } {
  const { canEdit } = usePermissions();
  return { canEdit: canEdit && endpoint.type !== 'agent' };
}

const tabs = [
  { value: 'policy', label: 'Policy', to: paths.endpointPolicy },
  { value: 'versions', label: 'Versions', to: paths.endpointVersions },
  { value: 'settings', label: 'Settings', to: paths.endpointSettings },
  { value: 'traffic', label: 'Traffic', to: paths.endpointTraffic },
] as const;

export function EndpointDetailPage() {
  const { endpointId = '' } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const endpoint = useQuery(endpointQueries.detail(endpointId));
  const activeTab = tabs.find((tab) => location.pathname.endsWith(`/${tab.value}`))?.value ?? 'policy';

  if (endpoint.isPending) return <LoadingState label="Loading the endpoint…" />;
  if (endpoint.isError) {
    if (endpoint.error instanceof ApiError && endpoint.error.status === 404) {
      return (
        <EmptyState
          title="This endpoint does not exist"
          action={
            <Anchor component={Link} to={paths.endpoints}>
              Back to endpoints
            </Anchor>
          }
        >
          It may have been deleted.
        </EmptyState>
      );
    }
    return (
      <ErrorState title="Could not load the endpoint" error={endpoint.error} onRetry={() => void endpoint.refetch()} />
    );
  }

  const current = endpoint.data;
  return (
    <Stack gap="md">
      <Breadcrumbs>
        <Anchor component={Link} to={paths.endpoints} size="sm">
          Endpoints
        </Anchor>
        <Text size="sm">{current.url}</Text>
      </Breadcrumbs>
      <Group gap="sm" align="center">
        {/* A long URL wraps instead of pushing a phone-wide page sideways. */}
        <Title order={1} size="h2" ff="monospace" data-testid="endpoint-url" style={{ overflowWrap: 'anywhere' }}>
          {current.url}
        </Title>
        <EndpointTypeBadge type={current.type} />
        <Text c="dimmed" size="sm" data-testid="endpoint-policy-version">
          {current.policy_version === null ? 'No policy' : `Policy version ${current.policy_version}`}
        </Text>
      </Group>
      {current.description ? <Text c="dimmed">{current.description}</Text> : null}
      {current.type === 'internal' && current.upstream_url ? (
        <Text size="sm">
          Forwards to{' '}
          <Text span ff="monospace">
            {current.upstream_url}
          </Text>
        </Text>
      ) : null}
      {current.type === 'agent' ? <AgentEndpointPanel endpoint={current} /> : null}
      <TrafficAddress endpoint={current} />
      <Tabs
        value={activeTab}
        onChange={(value) => {
          const tab = tabs.find((candidate) => candidate.value === value);
          if (tab) void navigate(tab.to(current.id));
        }}
      >
        <Tabs.List>
          {tabs.map((tab) => (
            <Tabs.Tab key={tab.value} value={tab.value}>
              {tab.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
      </Tabs>
      {/* Keyed by endpoint, so a tab's local state (an unsaved draft) never carries over to another endpoint. */}
      <Outlet key={current.id} context={{ endpoint: current } satisfies EndpointOutletContext} />
    </Stack>
  );
}
