import { Badge, Button, Code, Group, Select, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconKey, IconPlus } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Role } from '../api/auth.api';
import {
  apiKeyQueries,
  useCreateApiKeyMutation,
  useRevokeApiKeyMutation,
  type ApiKey,
  type CreatedApiKey,
} from '../api/api-keys.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { SecretOnceDialog } from '../components/secret-once-dialog';
import { FormDialog } from '../forms/form-dialog';
import { useApiForm } from '../forms/use-api-form';

const roleOptions: Array<{ value: Role; label: string }> = [
  { value: 'viewer', label: 'Viewer: read only' },
  { value: 'editor', label: 'Editor: endpoints, policies, IP categories' },
  { value: 'admin', label: 'Admin: everything, including users and keys' },
];

function CreatedApiKeyDialog({ created, onClose }: { created: CreatedApiKey; onClose: () => void }) {
  return (
    <SecretOnceDialog title="API key created" secret={created.secret} testId="api-key-secret" onClose={onClose}>
      <Text size="sm">
        Send it as <Code>Authorization: Bearer &lt;secret&gt;</Code>.
      </Text>
    </SecretOnceDialog>
  );
}

function CreateApiKeyDialog({ onClose }: { onClose: () => void }) {
  const createApiKey = useCreateApiKeyMutation();
  const form = useApiForm<{ description: string; role: Role }>({
    initialValues: { description: '', role: 'editor' },
    // The API refuses a key nobody can name; say so before sending.
    validate: { description: (text) => (text.trim() === '' ? 'Describe what uses this key' : null) },
  });
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  if (created) return <CreatedApiKeyDialog created={created} onClose={onClose} />;
  return (
    <FormDialog
      form={form}
      title="New API key"
      submitLabel="Create key"
      onSubmit={(values) =>
        createApiKey.mutateAsync({ description: values.description.trim(), role: values.role }).then(setCreated)
      }
      onClose={onClose}
    >
      <TextInput
        label="Description"
        description="What uses this key, e.g. the CI deploy job"
        placeholder="What uses this key"
        required
        maxLength={255}
        {...form.getInputProps('description')}
        data-autofocus
      />
      <Select label="Role" data={roleOptions} {...form.getInputProps('role')} allowDeselect={false} />
    </FormDialog>
  );
}

export function ApiKeysPage() {
  const apiKeys = useInfiniteQuery(apiKeyQueries.list());
  const revoke = useRevokeApiKeyMutation();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const newButton = (
    <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
      New API key
    </Button>
  );

  const confirmRevoke = () => {
    if (!revoking) return;
    revoke.mutate(revoking.id, {
      onSuccess: () => notifications.show({ color: 'green', message: `Revoked ${revoking.prefix}….` }),
      onError: (error) => notifications.show({ color: 'red', title: 'Revoke failed', message: describeError(error) }),
      onSettled: () => setRevoking(null),
    });
  };

  return (
    <Stack>
      <PageHeader
        title="API keys"
        description="For scripts and automation: the same API as the dashboard, with a role."
        actions={newButton}
      />
      <PagedTable
        query={apiKeys}
        loadingLabel="Loading API keys…"
        errorTitle="Could not load API keys"
        empty={
          <EmptyState title="No API keys" action={newButton}>
            Create a key to manage Gatehouse from scripts or CI.
          </EmptyState>
        }
        minWidth={720}
        mobileMinWidth={340}
        testId="api-keys-table"
        rowKey={(apiKey) => apiKey.id}
        columns={[
          {
            header: 'Key',
            cell: (apiKey) => (
              <Group gap={6} wrap="nowrap">
                <IconKey size={14} aria-hidden />
                <Text ff="monospace" size="sm">
                  {apiKey.prefix}…
                </Text>
              </Group>
            ),
          },
          {
            header: 'Description',
            cell: (apiKey) => <Text size="sm">{apiKey.description || '—'}</Text>,
            visibleFrom: 'sm',
          },
          {
            header: 'Role',
            cell: (apiKey) =>
              apiKey.effective_role === apiKey.role ? (
                <Badge variant="outline">{apiKey.role}</Badge>
              ) : (
                // The owner was demoted: the key acts with the owner's role until they are promoted again.
                <Tooltip label={`Capped at its owner's role; created as ${apiKey.role}`}>
                  <Badge variant="outline" color="orange">
                    {apiKey.effective_role} (capped)
                  </Badge>
                </Tooltip>
              ),
          },
          {
            header: 'Last used',
            visibleFrom: 'md',
            cell: (apiKey) => (
              <Text size="sm">{apiKey.last_used_at ? <RelativeTime timestamp={apiKey.last_used_at} /> : 'never'}</Text>
            ),
          },
          {
            header: 'Created',
            visibleFrom: 'md',
            cell: (apiKey) => (
              <Text size="sm">
                <RelativeTime timestamp={apiKey.created_at} />
                {apiKey.created_by_email ? ` by ${apiKey.created_by_email}` : ''}
              </Text>
            ),
          },
          {
            label: 'Actions',
            cell: (apiKey) => (
              <Button
                size="xs"
                color="red"
                variant="subtle"
                onClick={() => setRevoking(apiKey)}
                aria-label={`Revoke ${apiKey.prefix}`}
              >
                Revoke
              </Button>
            ),
          },
        ]}
      />
      {creating ? <CreateApiKeyDialog onClose={() => setCreating(false)} /> : null}
      <ConfirmDialog
        opened={revoking !== null}
        title={`Revoke ${revoking?.prefix ?? ''}…?`}
        confirmLabel="Revoke key"
        danger
        busy={revoke.isPending}
        onConfirm={confirmRevoke}
        onCancel={() => setRevoking(null)}
      >
        Requests using this key fail from now on. This cannot be undone.
      </ConfirmDialog>
    </Stack>
  );
}
