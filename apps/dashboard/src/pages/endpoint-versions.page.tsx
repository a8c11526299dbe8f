import { Badge, Button, Group, Radio, Select, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconArrowBackUp } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { policyVersionQueries, useRestorePolicyVersionMutation, type PolicyVersion } from '../api/policy-versions.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PagedTable } from '../components/paged-table';
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { PolicyDiffViewer } from '../policy-editor/policy-diff-viewer';
import { usePermissions } from '../session/session';
import { useEndpointFromOutlet } from './endpoint-detail.page';

function versionLabel(version: PolicyVersion): string {
  return `v${version.version}${version.active ? ' (active)' : ''}${version.message ? ` — ${version.message}` : ''}`;
}

export function EndpointVersionsPage() {
  const endpoint = useEndpointFromOutlet();
  const { canEdit } = usePermissions();
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

  const versionOptions = versions.map((version) => ({ value: String(version.version), label: versionLabel(version) }));

  const confirmRestore = () => {
    if (!versionToRestore) return;
    restore.mutate(
      { version: versionToRestore.version, message: `Restore version ${versionToRestore.version}` },
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
        confirmLabel="Restore"
        busy={restore.isPending}
        onConfirm={confirmRestore}
        onCancel={() => setVersionToRestore(null)}
      >
        {`Its text becomes a new version (v${(versions[0]?.version ?? 0) + 1}) and goes live on every data plane. History is kept.`}
      </ConfirmDialog>
    </Stack>
  );
}
