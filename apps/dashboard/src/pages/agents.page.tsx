import { Anchor, Badge, Stack, Text } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { agentSessionQueries, type AgentSession } from '../api/agent-sessions.api';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { paths } from '../paths';

const statusColor: Record<AgentSession['status'], string> = { online: 'green', detached: 'yellow', ended: 'gray' };

function statusOf(session: AgentSession) {
  return (
    <Stack gap={2}>
      <Badge color={statusColor[session.status]} variant="light">
        {session.status}
      </Badge>
      {session.status === 'ended' && session.ended_at ? (
        <Text size="xs" c="dimmed">
          {session.end_reason === 'authtoken-revoked' ? 'authtoken revoked' : 'no data plane held it'},{' '}
          <RelativeTime timestamp={session.ended_at} />
        </Text>
      ) : null}
    </Stack>
  );
}

function endpointsOf(session: AgentSession) {
  if (session.endpoints.length === 0)
    return (
      <Text size="sm" c="dimmed">
        none
      </Text>
    );
  return (
    <Stack gap={2}>
      {session.endpoints.map((endpoint) => (
        <Text key={endpoint.id} size="sm">
          <Anchor component={Link} to={paths.endpoint(endpoint.id)} ff="monospace" size="sm">
            {endpoint.url}
          </Anchor>{' '}
          <Text span size="xs" c="dimmed" ff="monospace">
            → {endpoint.upstream}
          </Text>
          {endpoint.pooling_enabled ? (
            <Badge ml={4} size="xs" variant="outline" color="grape">
              pooled
            </Badge>
          ) : null}
        </Text>
      ))}
    </Stack>
  );
}

/** Every gatehouse-agent session, live ones first, with the endpoints each serves and the data planes holding it. */
export function AgentsPage() {
  const sessions = useInfiniteQuery(agentSessionQueries.list());
  return (
    <Stack>
      <PageHeader
        title="Agents"
        description="gatehouse-agent processes that dialed out to the gateway, and the endpoints they declared. Their config is the source of truth; revoke an authtoken to disconnect its agents."
      />
      <PagedTable
        query={sessions}
        loadingLabel="Loading agent sessions…"
        errorTitle="Could not load agent sessions"
        empty={
          <EmptyState title="No agent sessions yet">
            Create an authtoken, then run gatehouse-agent next to a private server: its endpoints appear here.
          </EmptyState>
        }
        minWidth={820}
        testId="agent-sessions-table"
        rowKey={(session) => session.id}
        columns={[
          {
            header: 'Session',
            cell: (session) => (
              <Stack gap={2}>
                <Text size="sm">{session.hostname}</Text>
                <Text size="xs" c="dimmed" ff="monospace">
                  {session.id}
                </Text>
              </Stack>
            ),
          },
          { header: 'Status', cell: statusOf },
          { header: 'Endpoints', cell: endpointsOf },
          {
            header: 'Data planes',
            cell: (session) => (
              <Text size="sm">
                {session.dataplanes.length === 0 ? '-' : session.dataplanes.map((row) => row.id).join(', ')}
              </Text>
            ),
            visibleFrom: 'sm',
          },
          {
            header: 'Agent',
            cell: (session) => (
              <Text size="sm">
                v{session.agent_version} from {session.remote_address || 'unknown'}
              </Text>
            ),
            visibleFrom: 'md',
          },
          {
            header: 'Started',
            cell: (session) => (
              <Text size="sm">
                <RelativeTime timestamp={session.started_at} />
              </Text>
            ),
            visibleFrom: 'md',
          },
        ]}
      />
    </Stack>
  );
}
