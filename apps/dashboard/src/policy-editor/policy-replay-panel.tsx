import { Alert, Anchor, Badge, Button, Group, List, Paper, SegmentedControl, Stack, Text } from '@mantine/core';
import { IconPlayerPlay } from '@tabler/icons-react';
import { useState } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/request-client';
import { type ReplayReport, useReplayMutation } from '../api/replay.api';
import { paths } from '../paths';

type Baseline = 'active' | 'recorded';

/**
 * The replay of a policy on the endpoint's recent recorded traffic: the draft in the editor (`text`) or a stored
 * version (`version`, in the restore preview), against the active version or against what the data planes did. Runs
 * when asked: a replay of 10,000 requests costs the API seconds.
 */
export function PolicyReplayPanel({
  endpointId,
  text,
  version,
  disabledReason,
}: {
  endpointId: string;
  text?: string;
  version?: number;
  /** Why the draft cannot be replayed now (errors in it); the button is disabled with this as its hint. */
  disabledReason?: string | undefined;
}) {
  const replay = useReplayMutation(endpointId);
  const [baseline, setBaseline] = useState<Baseline>('active');
  const [replayedFor, setReplayedFor] = useState<string | null>(null);
  const subject = text ?? `version ${version ?? ''}`;
  const run = () => {
    setReplayedFor(subject);
    replay.mutate(text !== undefined ? { traffic_policy: text, baseline } : { version: version ?? 1, baseline });
  };
  const stale = replay.data !== undefined && replayedFor !== subject;
  return (
    <Paper withBorder p="sm" data-testid="policy-replay-panel">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>Replay on recent traffic</Text>
          <Group gap="xs">
            <SegmentedControl
              size="xs"
              value={baseline}
              onChange={(value) => setBaseline(value)}
              data={[
                { value: 'active', label: 'vs active version' },
                { value: 'recorded', label: 'vs what happened' },
              ]}
              aria-label="Compare with"
            />
            <Button
              size="xs"
              variant="light"
              leftSection={<IconPlayerPlay size={14} />}
              onClick={run}
              loading={replay.isPending}
              disabled={disabledReason !== undefined}
              title={disabledReason}
              data-testid="replay-run"
            >
              {text !== undefined ? 'Replay draft' : `Replay version ${version ?? ''}`}
            </Button>
          </Group>
        </Group>
        {replay.isError ? (
          <Alert color="red" variant="light" title="The replay did not run">
            {describeError(replay.error)}
          </Alert>
        ) : null}
        {replay.data !== undefined ? <ReplayResult report={replay.data} stale={stale} /> : null}
        {replay.data === undefined && !replay.isError ? (
          <Text size="xs" c="dimmed">
            Evaluates the policy on this endpoint&apos;s newest 10,000 recorded requests and lists the requests whose
            decision would change, grouped, each with example requests from the request log.
          </Text>
        ) : null}
      </Stack>
    </Paper>
  );
}

function ReplayResult({ report, stale }: { report: ReplayReport; stale: boolean }) {
  const against =
    report.baseline.kind === 'recorded'
      ? 'what the data planes did'
      : `version ${report.baseline.version ?? '?'}${report.baseline.kind === 'active' ? ' (active)' : ''}`;
  return (
    <Stack gap="xs" data-testid="replay-result">
      <Group gap="xs">
        <Badge color={report.changed > 0 ? 'orange' : 'green'} variant="light" data-testid="replay-changed">
          {report.changed} changed
        </Badge>
        <Badge color="gray" variant="light">
          {report.unchanged} unchanged
        </Badge>
        <Text size="xs" c="dimmed">
          {report.requests === 0
            ? 'No recorded requests yet: send traffic to this endpoint first.'
            : `${report.requests} requests against ${against}, in ${report.duration_ms} ms`}
        </Text>
        {stale ? (
          <Badge color="yellow" variant="outline">
            The policy changed since; replay again
          </Badge>
        ) : null}
      </Group>
      {report.groups.length > 0 ? (
        <List size="sm" spacing={4} data-testid="replay-groups">
          {report.groups.map((group) => (
            <List.Item key={`${group.kind}:${group.summary}`}>
              <Text size="sm" span>
                {group.summary}
              </Text>{' '}
              <Text size="xs" c="dimmed" span>
                e.g.{' '}
                {group.example_request_ids.map((id, index) => (
                  <span key={id}>
                    {index > 0 ? ', ' : ''}
                    <Anchor
                      component={Link}
                      to={paths.requestLog(id)}
                      // A new tab: the draft in the editor stays where it is (leaving would discard it).
                      target="_blank"
                      rel="noreferrer"
                      size="xs"
                      ff="monospace"
                    >
                      {id.slice(0, 8)}
                    </Anchor>
                  </span>
                ))}
              </Text>
            </List.Item>
          ))}
        </List>
      ) : null}
      {report.notes.length > 0 ? (
        <Text size="xs" c="dimmed">
          {report.notes.join(' ')}
        </Text>
      ) : null}
    </Stack>
  );
}
