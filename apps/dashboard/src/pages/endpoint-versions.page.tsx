import { Alert, Badge, Button, Group, List, Radio, Select, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle, IconArrowBackUp } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { policyVersionQueries, useRestorePolicyVersionMutation, type PolicyVersion } from '../api/policy-versions.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PagedTable } from '../components/paged-table';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { droppedProtections } from '../lib/policy-protection';
import { PolicyDiffViewer } from '../policy-editor/policy-diff-viewer';
import { PolicyReplayPanel } from '../policy-editor/policy-replay-panel';
import { testsToYaml, usePolicyTests } from '../policy-editor/use-policy-tests';
import { useEndpointEditing, useEndpointFromOutlet } from './endpoint-detail.page';

function versionLabel(version: PolicyVersion): string {
  return `v${version.version}${version.active ? ' (active)' : ''}${version.message ? ` — ${version.message}` : ''}`;
}

export function EndpointVersionsPage() {
  const endpoint = useEndpointFromOutlet();
  const { canEdit } = useEndpointEditing(endpoint);
  const versionsQuery = useInfiniteQuery(policyVersionQueries.list(endpoint.id));
  const versions = versionsQuery.data ?? [];
  const [selectedBase, setSelectedBase] = useState<number | null>(null);
  const [selectedCompared, setSelectedCompared] = useState<number | null>(null);
  const [versionToRestore, setVersionToRestore] = useState<PolicyVersion | null>(null);
  const restore = useRestorePolicyVersionMutation(endpoint.id);

  // By default compare the active version with the one before it.
  const comparedVersion = selectedCompared ?? versions[0]?.version ?? null;
  const baseVersion = selectedBase ?? versions[1]?.version ?? comparedVersion;
  const base = useQuery({
    ...policyVersionQueries.detail(endpoint.id, baseVersion ?? 1),
    enabled: baseVersion !== null,
  });
  const compared = useQuery({
    ...policyVersionQueries.detail(endpoint.id, comparedVersion ?? 1),
    enabled: comparedVersion !== null,
  });

  // The restore dialog compares the active policy with the version that would replace it.
  const restoreCandidate = useQuery({
    ...policyVersionQueries.detail(endpoint.id, versionToRestore?.version ?? 1),
    enabled: versionToRestore !== null,
  });
  const restoredText = versionToRestore !== null ? restoreCandidate.data?.traffic_policy : undefined;
  const dropped = restoredText === undefined ? [] : droppedProtections(endpoint.traffic_policy, restoredText);
  // The API runs the active version's cases against the restored text; the preview runs them here first.
  const activeVersion = useQuery({
    ...policyVersionQueries.detail(endpoint.id, endpoint.policy_version ?? 1),
    enabled: endpoint.policy_version !== null && versionToRestore !== null,
  }).data;
  const activeTestsYaml = useMemo(() => testsToYaml(activeVersion?.tests ?? []), [activeVersion]);
  const restoreTests = usePolicyTests(restoredText ?? '', restoredText === undefined ? '' : activeTestsYaml, endpoint);
  const failingRestoreTests = restoreTests.report?.failed ?? 0;

  const versionOptions = versions.map((version) => ({ value: String(version.version), label: versionLabel(version) }));

  const confirmRestore = () => {
    if (!versionToRestore) return;
    restore.mutate(
      {
        version: versionToRestore.version,
        message: `Restore version ${versionToRestore.version}`,
        allowFailingTests: failingRestoreTests > 0,
      },
      {
        onSuccess: (created) => {
          notifications.show({
            color: 'green',
            title: `Restored version ${versionToRestore.version}`,
            message: `Its text is now active as version ${created.version}.`,
          });
          setVersionToRestore(null);
          setSelectedBase(null);
          setSelectedCompared(null);
        },
        onError: (error) => {
          notifications.show({ color: 'red', title: 'Restore failed', message: describeError(error) });
          setVersionToRestore(null);
        },
      },
    );
  };

  return (
    <Stack gap="lg">
      <PagedTable
        query={versionsQuery}
        loadingLabel="Loading versions…"
        errorTitle="Could not load the versions"
        empty={
          <EmptyState title="No policy versions yet">
            {endpoint.type === 'internal'
              ? 'This internal endpoint forwards everything to its upstream. Save a policy on the Policy tab to create version 1.'
              : 'Save a policy on the Policy tab to create version 1.'}
          </EmptyState>
        }
        minWidth={720}
        testId="versions-table"
        tableProps={{ verticalSpacing: 'xs' }}
        rowKey={(version) => version.version}
        rowProps={(version) => ({ 'data-version': version.version })}
        loadMoreLabel="Load older versions"
        columns={[
          {
            header: 'Version',
            cell: (version) => (
              <Group gap={6}>
                <Text fw={600}>v{version.version}</Text>
                {version.active ? (
                  <Badge size="sm" color="green" variant="light">
                    active
                  </Badge>
                ) : null}
                {version.restored_from !== null ? (
                  <Badge size="sm" variant="outline" color="gray">
                    restored from v{version.restored_from}
                  </Badge>
                ) : null}
              </Group>
            ),
          },
          {
            header: 'Message',
            cell: (version) => (
              <Text size="sm" c={version.message ? undefined : 'dimmed'}>
                {version.message || 'No message'}
              </Text>
            ),
          },
          { header: 'By', cell: (version) => <Text size="sm">{version.created_by}</Text> },
          {
            header: 'When',
            cell: (version) => (
              <Text size="sm">
                <RelativeTime timestamp={version.created_at} />
              </Text>
            ),
          },
          {
            header: 'Old',
            label: 'Compare as old',
            cell: (version) => (
              <Radio
                name="compare-old"
                aria-label={`Compare from version ${version.version}`}
                checked={baseVersion === version.version}
                onChange={() => setSelectedBase(version.version)}
              />
            ),
          },
          {
            header: 'New',
            label: 'Compare as new',
            cell: (version) => (
              <Radio
                name="compare-new"
                aria-label={`Compare to version ${version.version}`}
                checked={comparedVersion === version.version}
                onChange={() => setSelectedCompared(version.version)}
              />
            ),
          },
          ...(canEdit
            ? [
                {
                  label: 'Actions',
                  cell: (version: PolicyVersion) =>
                    version.active ? null : (
                      <Button
                        size="xs"
                        variant="default"
                        leftSection={<IconArrowBackUp size={14} />}
                        onClick={() => setVersionToRestore(version)}
                        aria-label={`Restore version ${version.version}`}
                      >
                        Restore
                      </Button>
                    ),
                },
              ]
            : []),
        ]}
      />

      {versionsQuery.status === 'success' && versions.length > 0 ? (
        <Stack gap="xs">
          <Group justify="space-between" align="flex-end">
            <Title order={2} size="h4">
              Compare versions
            </Title>
            <Group gap="sm">
              <Select
                label="Old"
                data={versionOptions}
                value={baseVersion === null ? null : String(baseVersion)}
                onChange={(value) => value && setSelectedBase(Number(value))}
                allowDeselect={false}
                w={240}
                data-testid="compare-old"
              />
              <Select
                label="New"
                data={versionOptions}
                value={comparedVersion === null ? null : String(comparedVersion)}
                onChange={(value) => value && setSelectedCompared(Number(value))}
                allowDeselect={false}
                w={240}
                data-testid="compare-new"
              />
            </Group>
          </Group>
          {base.isError || compared.isError ? (
            <ErrorState title="Could not load a version" error={base.error ?? compared.error} />
          ) : base.data && compared.data ? (
            <PolicyDiffViewer
              // One mounted diff per pair of versions (issue 19, stale diffs). @monaco-editor/react's DiffEditor does
              // not follow a change of model paths: it swaps the inner editors' models but leaves the diff widget
              // comparing the old pair, and its `original` effect then writes the new text into the old (kept) model.
              // Saving v3 or restoring moves the default pair while the viewer stays mounted, so it showed the previous
              // pair's changes (or none). A new key mounts a fresh diff that sets both models at once.
              key={`${base.data.version}:${compared.data.version}`}
              original={base.data.traffic_policy}
              modified={compared.data.traffic_policy}
              originalName={`${endpoint.id}-v${base.data.version}`}
              modifiedName={`${endpoint.id}-v${compared.data.version}`}
            />
          ) : (
            <LoadingState label="Loading the versions to compare…" />
          )}
        </Stack>
      ) : null}

      <ConfirmDialog
        opened={versionToRestore !== null}
        title={`Restore version ${versionToRestore?.version ?? ''}?`}
        confirmLabel={
          dropped.length > 0
            ? 'Restore without these protections'
            : failingRestoreTests > 0
              ? 'Restore with failing tests'
              : 'Restore'
        }
        danger={dropped.length > 0 || failingRestoreTests > 0}
        busy={restore.isPending}
        onConfirm={confirmRestore}
        onCancel={() => setVersionToRestore(null)}
        size="xl"
      >
        <Stack gap="sm" data-testid="restore-preview">
          <Text size="sm">
            {`Its text becomes a new version (v${(versions[0]?.version ?? 0) + 1}) and goes live on every data plane. History is kept.`}
          </Text>
          {dropped.length > 0 ? (
            <Alert
              color="red"
              variant="light"
              icon={<IconAlertTriangle size={18} />}
              title={`Version ${versionToRestore?.version ?? ''} drops protection the active policy has`}
              data-testid="restore-drops-protection"
            >
              <Text size="sm">Callers these stop today will get through once it is live:</Text>
              <List size="sm">
                {dropped.map((protection) => (
                  <List.Item key={protection}>{protection}</List.Item>
                ))}
              </List>
            </Alert>
          ) : null}
          {restoreTests.report ? (
            <Alert
              color={failingRestoreTests > 0 ? 'red' : 'green'}
              variant="light"
              title={`The active version's tests against version ${versionToRestore?.version ?? ''}: ${restoreTests.report.passed} passed, ${failingRestoreTests} failed`}
              data-testid="restore-tests"
            >
              {restoreTests.report.results
                .filter((result) => !result.passed)
                .map((result) => (
                  <Text key={result.name} size="sm">
                    FAIL {result.name}:{' '}
                    {result.mismatches
                      .map((mismatch) => `${mismatch.field} expected ${mismatch.expected}, got ${mismatch.actual}`)
                      .join('; ')}
                  </Text>
                ))}
            </Alert>
          ) : null}
          {versionToRestore && endpoint.policy_version !== null ? (
            <PolicyReplayPanel
              key={`replay:${versionToRestore.version}`}
              endpointId={endpoint.id}
              version={versionToRestore.version}
            />
          ) : null}
          {restoreCandidate.isError ? (
            <ErrorState title="Could not load the version to compare" error={restoreCandidate.error} />
          ) : versionToRestore && restoredText !== undefined ? (
            <>
              <Text size="sm" c="dimmed">
                Left: the active policy (v{endpoint.policy_version ?? '—'}). Right: version {versionToRestore.version},
                which goes live.
              </Text>
              <PolicyDiffViewer
                key={`restore:${endpoint.policy_version ?? 0}:${versionToRestore.version}`}
                original={endpoint.traffic_policy ?? ''}
                modified={restoredText}
                originalName={`${endpoint.id}-active-v${endpoint.policy_version ?? 0}`}
                modifiedName={`${endpoint.id}-v${versionToRestore.version}`}
              />
            </>
          ) : versionToRestore ? (
            <LoadingState label="Loading the version to compare…" />
          ) : null}
        </Stack>
      </ConfirmDialog>
    </Stack>
  );
}
