import {
  Anchor,
  Badge,
  Button,
  Code,
  Collapse,
  Group,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Timeline,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconHistory } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { auditEventQueries, type AuditEvent } from '../api/audit-events.api';
import type { AuditEventFilters } from '../api/query-keys';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { paths } from '../paths';

/** The kinds the API records (DESIGN.md §4 AuditEvent), for the filter. */
const auditEventKinds = [
  'endpoint.created',
  'endpoint.updated',
  'endpoint.deleted',
  'policy.version_created',
  'policy.restored',
  'ip_category.created',
  'ip_category.updated',
  'ip_category.deleted',
  'api_key.created',
  'api_key.deleted',
  'user.setup',
  'user.created',
  'user.updated',
  'user.password_changed',
  'user.deleted',
];

const kindColor: Record<string, string> = { created: 'green', deleted: 'red', restored: 'grape', setup: 'indigo' };

function colorOfKind(kind: string): string {
  return kindColor[kind.split('.')[1] ?? ''] ?? 'blue';
}

function entityLink(event: AuditEvent) {
  if (!event.entity_id) return null;
  if (event.entity_id.startsWith('ep_') && event.kind !== 'endpoint.deleted') {
    return (
      <Anchor component={Link} to={paths.endpoint(event.entity_id)} size="sm" ff="monospace">
        {event.entity_id}
      </Anchor>
    );
  }
  return (
    <Text span size="sm" ff="monospace">
      {event.entity_id}
    </Text>
  );
}

function formatJson(value: unknown): string {
  return value === null || value === undefined ? '—' : JSON.stringify(value, null, 2);
}

function AuditEventItem({ event }: { event: AuditEvent }) {
  const [expanded, setExpanded] = useState(false);
  const hasChange = event.before !== null || event.after !== null;
  return (
    <Stack gap={4}>
      <Group gap="xs">
        <Badge color={colorOfKind(event.kind)} variant="light" tt="none">
          {event.kind}
        </Badge>
        {entityLink(event)}
      </Group>
      <Text size="sm" c="dimmed">
        by {event.actor.name} ({event.actor.type.replace('_', ' ')}) · <RelativeTime timestamp={event.created_at} />
        {event.ip ? ` · from ${event.ip}` : ''}
      </Text>
      {hasChange ? (
        <>
          <Button
            variant="subtle"
            size="compact-xs"
            onClick={() => setExpanded((value) => !value)}
            aria-expanded={expanded}
            w="fit-content"
          >
            {expanded ? 'Hide the change' : 'Show the change'}
          </Button>
          <Collapse expanded={expanded}>
            <SimpleGrid cols={{ base: 1, md: 2 }} spacing="xs">
              <Paper withBorder p="xs">
                <Text size="xs" fw={600} mb={4}>
                  Before
                </Text>
                <Code block>{formatJson(event.before)}</Code>
              </Paper>
              <Paper withBorder p="xs">
                <Text size="xs" fw={600} mb={4}>
                  After
                </Text>
                <Code block>{formatJson(event.after)}</Code>
              </Paper>
            </SimpleGrid>
          </Collapse>
        </>
      ) : null}
    </Stack>
  );
}

export function AuditEventsPage() {
  const [searchParameters, setSearchParameters] = useSearchParams();
  const kind = searchParameters.get('kind') ?? '';
  const actor = searchParameters.get('actor') ?? '';
  const entityId = searchParameters.get('entity_id') ?? '';
  const [debouncedActor] = useDebouncedValue(actor.trim(), 300);
  const [debouncedEntityId] = useDebouncedValue(entityId.trim(), 300);
  const filters = useMemo<AuditEventFilters>(
    () => ({
      ...(kind ? { kind } : {}),
      ...(debouncedActor ? { actor: debouncedActor } : {}),
      ...(debouncedEntityId ? { entity_id: debouncedEntityId } : {}),
    }),
    [kind, debouncedActor, debouncedEntityId],
  );
  const events = useInfiniteQuery(auditEventQueries.list(filters));
  const rows = useMemo(() => events.data?.pages.flatMap((page) => page.audit_events) ?? [], [events.data]);
  const filtered = Object.keys(filters).length > 0;

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(searchParameters);
    if (value) next.set(name, value);
    else next.delete(name);
    setSearchParameters(next, { replace: true });
  };

  return (
    <Stack>
      <PageHeader
        title="Audit log"
        description="Every change: who made it, when, from where, and what it was before and after."
      />
      <Group align="flex-end">
        <Select
          label="Kind"
          placeholder="Any kind"
          data={auditEventKinds}
          value={kind || null}
          onChange={(value) => setFilter('kind', value ?? '')}
          clearable
          searchable
          w={240}
        />
        <TextInput
          label="Actor"
          placeholder="Email or API key prefix"
          value={actor}
          onChange={(event) => setFilter('actor', event.currentTarget.value)}
          w={240}
        />
        <TextInput
          label="Object id"
          placeholder="e.g. ep_…"
          value={entityId}
          onChange={(event) => setFilter('entity_id', event.currentTarget.value)}
          w={240}
        />
      </Group>
      {events.isPending ? (
        <LoadingState label="Loading the audit log…" />
      ) : events.isError ? (
        <ErrorState title="Could not load the audit log" error={events.error} onRetry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title={filtered ? 'No change matches' : 'No changes yet'}>
          {filtered
            ? 'Try other filters.'
            : 'Changes to endpoints, policies, IP categories, users and keys appear here.'}
        </EmptyState>
      ) : (
        <>
          <Timeline bulletSize={22} lineWidth={2} data-testid="audit-timeline">
            {rows.map((event) => (
              <Timeline.Item key={event.id} bullet={<IconHistory size={12} />}>
                <AuditEventItem event={event} />
              </Timeline.Item>
            ))}
          </Timeline>
          {events.hasNextPage ? (
            <Group justify="center">
              <Button variant="default" loading={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
                Load older changes
              </Button>
            </Group>
          ) : null}
        </>
      )}
    </Stack>
  );
}
