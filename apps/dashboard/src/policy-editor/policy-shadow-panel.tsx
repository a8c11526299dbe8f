import { Alert, Anchor, Badge, Button, Code, Group, NumberInput, Paper, Stack, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconEyeCheck } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { ApiError } from '@gatehouse/api-client';
import type { Endpoint } from '../api/endpoints.api';
import type { RequestLogSummary } from '../api/request-logs.api';
import { describeError } from '../api/request-client';
import {
  shadowDifferencesPageSize,
  shadowPolicyQueries,
  type ShadowPolicy,
  useDiscardShadowPolicyMutation,
  usePromoteShadowPolicyMutation,
  usePublishShadowPolicyMutation,
} from '../api/shadow-policy.api';
import { RelativeTime } from '../components/relative-time';
import { paths } from '../paths';

/**
 * The endpoint's shadow policy (issue 17 item 3): publish the editor's draft or a stored version as shadow, watch the
 * requests on which it would have decided differently, then promote or discard it.
 */
export function PolicyShadowPanel({
  endpoint,
  draft,
  canEdit,
  draftDisabledReason,
}: {
  endpoint: Endpoint;
  /** The policy text in the editor. */
  draft: string;
  canEdit: boolean;
  /** Why the draft cannot be published now (errors in it). */
  draftDisabledReason?: string | undefined;
}) {
  const shadow = endpoint.shadow_policy ?? null;
  const publish = usePublishShadowPolicyMutation(endpoint.id);
  // Promote and discard live here, not in ActiveShadow: they clear the shadow, which unmounts ActiveShadow before
  // a callback passed to `mutate` there could run (TanStack Query skips those of unmounted observers).
  const promote = usePromoteShadowPolicyMutation(endpoint.id);
  const discard = useDiscardShadowPolicyMutation(endpoint.id);
  const published = (what: string) => {
    // A new shadow starts without the previous one's refused promote.
    promote.reset();
    notifications.show({ color: 'green', message: `${what} runs as shadow on live traffic.` });
  };
  const [version, setVersion] = useState<number | string>(endpoint.policy_version ?? '');
  const publishError = publish.isError ? describeError(publish.error) : null;
  const publishDraft = () =>
    publish.mutate(
      { traffic_policy: draft, message: 'Draft from the policy editor' },
      { onSuccess: () => published('The draft') },
    );
  const publishVersion = () =>
    publish.mutate({ from_version: Number(version) }, { onSuccess: () => published(`Version ${version}`) });
  const sameAsShadow = shadow !== null && shadow.traffic_policy === draft;
  return (
    <Paper withBorder p="sm" data-testid="policy-shadow-panel">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>Shadow policy</Text>
          {canEdit ? (
            <Group gap="xs">
              <Button
                size="xs"
                variant="light"
                leftSection={<IconEyeCheck size={14} />}
                onClick={publishDraft}
                loading={publish.isPending && publish.variables.traffic_policy !== undefined}
                disabled={draftDisabledReason !== undefined || sameAsShadow}
                title={draftDisabledReason ?? (sameAsShadow ? 'The shadow already is this text' : undefined)}
                data-testid="shadow-publish-draft"
              >
                {shadow === null ? 'Publish draft as shadow' : 'Replace with draft'}
              </Button>
              <NumberInput
                size="xs"
                w={90}
                min={1}
                max={endpoint.policy_version ?? 1}
                value={version}
                onChange={setVersion}
                aria-label="Version to publish as shadow"
                placeholder="version"
                disabled={endpoint.policy_version === null}
              />
              <Button
                size="xs"
                variant="default"
                onClick={publishVersion}
                loading={publish.isPending && publish.variables.from_version !== undefined}
                disabled={typeof version !== 'number' || endpoint.policy_version === null}
                data-testid="shadow-publish-version"
              >
                Publish version
              </Button>
            </Group>
          ) : null}
        </Group>
        {publishError !== null ? (
          <Alert color="red" variant="light" title="The shadow was not published">
            {publishError}
          </Alert>
        ) : null}
        {shadow === null ? (
          <Text size="xs" c="dimmed" data-testid="shadow-empty">
            No shadow policy. A shadow runs beside the active policy on every request without enforcing anything (its
            rate limits count on their own) and lists the requests it would have answered differently; promote it when
            it does what you expect.
          </Text>
        ) : (
          <ActiveShadow endpoint={endpoint} shadow={shadow} canEdit={canEdit} promote={promote} discard={discard} />
        )}
      </Stack>
    </Paper>
  );
}

function ActiveShadow({
  endpoint,
  shadow,
  canEdit,
  promote,
  discard,
}: {
  endpoint: Endpoint;
  shadow: ShadowPolicy;
  canEdit: boolean;
  promote: ReturnType<typeof usePromoteShadowPolicyMutation>;
  discard: ReturnType<typeof useDiscardShadowPolicyMutation>;
}) {
  const differences = useInfiniteQuery(shadowPolicyQueries.differences(endpoint.id, shadow));
  const promoteFailure = promote.isError ? promote.error : null;
  const testsFailed = promoteFailure instanceof ApiError && promoteFailure.code === 'POLICY_TESTS_FAILED';
  const runPromote = (allowFailingTests: boolean) =>
    promote.mutate(
      { sha256: shadow.sha256, ...(allowFailingTests ? { allow_failing_tests: true } : {}) },
      {
        onSuccess: (version) =>
          notifications.show({
            color: 'green',
            title: `Promoted as version ${version.version}`,
            message: 'Data planes enforce it within moments; the shadow is cleared.',
          }),
      },
    );
  const count = differences.data?.rows.length ?? 0;
  return (
    <Stack gap="xs" data-testid="shadow-active">
      <Group justify="space-between" align="flex-start">
        <Stack gap={2}>
          <Group gap="xs">
            <Code data-testid="shadow-sha256" title={shadow.sha256}>
              {shadow.sha256.slice(0, 12)}
            </Code>
            <Text size="xs" c="dimmed">
              published <RelativeTime timestamp={shadow.created_at} />
            </Text>
            <Badge
              color={count > 0 ? 'orange' : 'green'}
              variant="light"
              data-testid="shadow-difference-count"
              title="Requests since it was published on which it would have decided differently"
            >
              {differences.isPending
                ? 'counting…'
                : `${count}${differences.data?.more === true ? '+' : ''} differ${count === 1 && differences.data?.more !== true ? 's' : ''}`}
            </Badge>
          </Group>
          {shadow.message ? (
            <Text size="sm" data-testid="shadow-message">
              {shadow.message}
            </Text>
          ) : null}
        </Stack>
        {canEdit ? (
          <Group gap="xs">
            <Button
              size="xs"
              onClick={() => runPromote(false)}
              loading={promote.isPending}
              disabled={discard.isPending}
              data-testid="shadow-promote"
            >
              Promote
            </Button>
            <Button
              size="xs"
              color="red"
              variant="light"
              onClick={() =>
                discard.mutate(undefined, {
                  onSuccess: () => notifications.show({ color: 'gray', message: 'The shadow policy was discarded.' }),
                })
              }
              loading={discard.isPending}
              disabled={promote.isPending}
              data-testid="shadow-discard"
            >
              Discard
            </Button>
          </Group>
        ) : null}
      </Group>
      {promoteFailure !== null ? (
        <Alert color="red" variant="light" title="Not promoted" data-testid="shadow-promote-error">
          {promoteFailure instanceof ApiError && promoteFailure.code === 'SHADOW_POLICY_CHANGED'
            ? 'The shadow policy was replaced or discarded since this page loaded. The current one is shown now: check it and promote again.'
            : describeError(promoteFailure)}
          {testsFailed ? (
            <Button size="xs" mt="xs" variant="light" color="red" onClick={() => runPromote(true)}>
              Promote anyway (the version records the failing tests)
            </Button>
          ) : null}
        </Alert>
      ) : null}
      {discard.isError ? (
        <Alert color="red" variant="light" title="Not discarded">
          {describeError(discard.error)}
        </Alert>
      ) : null}
      {differences.isError ? (
        <Alert color="red" variant="light" title="Could not load the differences">
          {describeError(differences.error)}
        </Alert>
      ) : null}
      {differences.data !== undefined && count === 0 ? (
        <Text size="xs" c="dimmed" data-testid="shadow-no-differences">
          No request decided differently yet. Differences appear here within seconds of the traffic that shows them.
        </Text>
      ) : null}
      {count > 0 ? <DifferenceTable rows={differences.data?.rows ?? []} /> : null}
      {differences.data?.more === true ? (
        <Text size="xs" c="dimmed">
          Showing the newest {shadowDifferencesPageSize}.
        </Text>
      ) : null}
    </Stack>
  );
}

/** What the live policy did: the answer's status, or the internal endpoint it forwarded to. */
function liveOutcomeLabel(row: RequestLogSummary): string {
  const decided = row.decision ? ` (${row.decision.action})` : '';
  return row.forwarded_to ? `forward → ${row.forwarded_to}${decided}` : `${row.status}${decided}`;
}

function shadowOutcomeLabel(shadow: NonNullable<RequestLogSummary['shadow']>): string {
  const decided = shadow.decision ? ` (${shadow.decision.action})` : '';
  switch (shadow.outcome) {
    case 'respond':
      return `${shadow.status ?? '?'}${decided}`;
    case 'forward':
      return `forward → ${shadow.forwarded_to ?? '?'}${decided}`;
    case 'close':
      return `closed${decided}`;
    case 'continue':
      return `to the upstream${decided}`;
  }
}

function DifferenceTable({ rows }: { rows: RequestLogSummary[] }) {
  return (
    <Table fz="xs" verticalSpacing={4} highlightOnHover data-testid="shadow-differences">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>When</Table.Th>
          <Table.Th>Request</Table.Th>
          <Table.Th>Live</Table.Th>
          <Table.Th>Shadow</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((row) => (
          <Table.Tr key={row.id}>
            <Table.Td>
              <RelativeTime timestamp={row.timestamp} />
            </Table.Td>
            <Table.Td>
              <Anchor
                component={Link}
                to={paths.requestLog(row.id)}
                // A new tab: a draft in the editor stays where it is (leaving would discard it).
                target="_blank"
                rel="noreferrer"
                size="xs"
                ff="monospace"
              >
                {row.method} {row.path}
                {row.query ? `?${row.query}` : ''}
              </Anchor>
            </Table.Td>
            <Table.Td>{liveOutcomeLabel(row)}</Table.Td>
            <Table.Td>{row.shadow ? shadowOutcomeLabel(row.shadow) : '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
