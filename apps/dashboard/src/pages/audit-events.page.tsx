import { Anchor, Badge, Button, Collapse, Group, Stack, Text, Timeline } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconHistory } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { auditEventQueries, type AuditEvent } from '../api/audit-events.api';
import type { AuditEventFilters } from '../api/query-keys';
import { AuditChange } from '../components/audit-change';
import { PageHeader } from '../components/page-header';
import { LoadMoreButton } from '../components/paged-table';
import { QueryBoundary } from '../components/query-boundary';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { FilterBar, UrlFilterSelect, UrlFilterTextInput, useUrlFilters } from '../components/url-filters';
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
  'api_key.revoked',
  'api_key.effective_role_changed',
  'user.setup',
  'user.created',
  'user.updated',
  'user.password_changed',
  'user.deleted',
];

const kindColor: Record<string, string> = {
  created: 'green',
  deleted: 'red',
  revoked: 'red',
  restored: 'grape',
  setup: 'indigo',
};

function colorOfKind(kind: string): string {
  return kindColor[kind.split('.')[1] ?? ''] ?? 'blue';
}

/** The entity by name (URL, email, key) with its id in a tooltip-free title, linking to live endpoints. */
function entityLink(event: AuditEvent) {
  if (!event.entity_id) return null;
  const label = event.entity_label ?? event.entity_id;
  if (event.entity_id.startsWith('ep_') && event.kind !== 'endpoint.deleted') {
    return (
      <Anchor component={Link} to={paths.endpoint(event.entity_id)} size="sm" title={event.entity_id}>
        {label}
      </Anchor>
    );
  }
  return (
    <Text span size="sm" title={event.entity_id}>
      {label}
    </Text>
  );
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
            {expanded ? <AuditChange before={event.before} after={event.after} /> : null}
          </Collapse>
        </>
      ) : null}
    </Stack>
  );
}

export function AuditEventsPage() {
  const urlFilters = useUrlFilters();
  const kind = urlFilters.read('kind');
  const actor = urlFilters.read('actor');
  const entityId = urlFilters.read('entity_id');
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
  const filtered = Object.keys(filters).length > 0;

  return (
    <Stack>
      <PageHeader
        title="Audit log"
        description="Every change: who made it, when, from where, and what it was before and after."
      />
      <FilterBar names={['kind', 'actor', 'entity_id']}>
        <UrlFilterSelect name="kind" label="Kind" placeholder="Any kind" data={auditEventKinds} searchable w={240} />
        <UrlFilterTextInput name="actor" label="Actor" placeholder="Email or API key prefix" w={240} />
        <UrlFilterTextInput name="entity_id" label="Object id" placeholder="An id such as ep_…" w={240} />
      </FilterBar>
      <QueryBoundary
        query={events}
        loadingLabel="Loading the audit log…"
        errorTitle="Could not load the audit log"
        isEmpty={(loaded) => loaded.length === 0}
        empty={
          <EmptyState title={filtered ? 'No change matches' : 'No changes yet'}>
            {filtered
              ? 'Try other filters.'
              : 'Changes to endpoints, policies, IP categories, users and keys appear here.'}
          </EmptyState>
        }
      >
        {(loaded) => (
          <>
            <Timeline bulletSize={22} lineWidth={2} data-testid="audit-timeline">
              {loaded.map((event) => (
                <Timeline.Item key={event.id} bullet={<IconHistory size={12} />}>
                  <AuditEventItem event={event} />
                </Timeline.Item>
              ))}
            </Timeline>
            <LoadMoreButton query={events} label="Load older changes" />
          </>
        )}
      </QueryBoundary>
    </Stack>
  );
}
