import { Alert, Anchor, Badge, Group, Stack, Table, Text } from '@mantine/core';
import { IconRobot } from '@tabler/icons-react';
import { Link } from 'react-router';
import type { Endpoint } from '../api/endpoints.api';
import { paths } from '../paths';
import { RelativeTime } from './relative-time';

/**
 * Who serves an agent endpoint, and why it cannot be edited here: the agent session that declared it owns it (the API
 * answers 409 ENDPOINT_OWNED_BY_AGENT to any change).
 */
export function AgentEndpointPanel({ endpoint }: { endpoint: Endpoint }) {
  const agent = endpoint.agent;
  if (!agent) return null;
  const sessions = agent.members.map((member) => member.session_id).join(', ');
  return (
    <Stack gap="xs" data-testid="agent-endpoint-panel">
      <Alert color="grape" icon={<IconRobot size={18} />} title="Declared by an agent" data-testid="agent-read-only">
        Declared by agent session {sessions || '(ending)'}; change the agent&apos;s config to change it. Editing,
        deleting and saving a policy are disabled here.
      </Alert>
      <Group gap="xs">
        <Text size="sm">
          {agent.online_members} of {agent.members.length} member{agent.members.length === 1 ? '' : 's'} online
        </Text>
        {agent.pooling_enabled ? (
          <Badge variant="outline" color="grape">
            pooled
          </Badge>
        ) : null}
      </Group>
      <Table.ScrollContainer minWidth={640}>
        <Table data-testid="agent-members">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Session</Table.Th>
              <Table.Th>Agent</Table.Th>
              <Table.Th>Upstream</Table.Th>
              <Table.Th>Data planes</Table.Th>
              <Table.Th>Since</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {agent.members.map((member) => (
              <Table.Tr key={member.session_id}>
                <Table.Td>
                  <Anchor component={Link} to={paths.agents} ff="monospace" size="sm">
                    {member.session_id}
                  </Anchor>{' '}
                  <Badge size="xs" variant="light" color={member.online ? 'green' : 'gray'}>
                    {member.online ? 'online' : 'offline'}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {member.hostname} ({member.remote_address}), v{member.agent_version}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {member.upstream} ({member.upstream_protocol})
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {member.dataplanes.length === 0 ? 'none' : member.dataplanes.map((row) => row.id).join(', ')}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    <RelativeTime timestamp={member.since} />
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
