import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconCopy, IconKey, IconPlus } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
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
import { EmptyState, ErrorState, LoadingState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';

const roleOptions: Array<{ value: Role; label: string }> = [
  { value: 'viewer', label: 'Viewer: read only' },
  { value: 'editor', label: 'Editor: endpoints, policies, IP categories' },
  { value: 'admin', label: 'Admin: everything, including users and keys' },
];

function CreateApiKeyDialog({ onClose }: { onClose: () => void }) {
  const createApiKey = useCreateApiKeyMutation();
  const [description, setDescription] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    createApiKey.mutate({ description: description.trim(), role }, { onSuccess: setCreated });
  };

  if (created) {
    return (
      <Modal
        opened
        onClose={onClose}
        title={<Text fw={600}>API key created</Text>}
        size="lg"
        closeOnClickOutside={false}
      >
        <Stack>
          <Alert color="yellow" title="Copy the secret now">
            This is the only time Gatehouse shows it; only its hash is stored. Send it as{' '}
            <Code>Authorization: Bearer &lt;secret&gt;</Code>.
          </Alert>
          <Group wrap="nowrap" gap="xs">
            <Code block style={{ flex: 1, wordBreak: 'break-all' }} data-testid="api-key-secret">
              {created.secret}
            </Code>
            <CopyButton value={created.secret}>
              {({ copied, copy }) => (
                <Button
                  onClick={copy}
                  variant={copied ? 'light' : 'filled'}
                  color={copied ? 'green' : undefined}
                  leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
                >
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
          </Group>
          <Group justify="flex-end">
            <Button onClick={onClose}>I have stored it</Button>
          </Group>
        </Stack>
      </Modal>
    );
  }

  return (
    <Modal opened onClose={onClose} title={<Text fw={600}>New API key</Text>}>
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Description"
            description="What uses this key, e.g. the CI deploy job"
            maxLength={255}
            value={description}
            onChange={(event) => setDescription(event.currentTarget.value)}
            data-autofocus
          />
          <Select
            label="Role"
            data={roleOptions}
            value={role}
            onChange={(value) => value && setRole(value)}
            allowDeselect={false}
          />
          {createApiKey.isError ? (
            <Alert color="red" role="alert">
              {describeError(createApiKey.error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={createApiKey.isPending}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export function ApiKeysPage() {
  const apiKeys = useInfiniteQuery(apiKeyQueries.list());
  const rows = useMemo(() => apiKeys.data?.pages.flatMap((page) => page.api_keys) ?? [], [apiKeys.data]);
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
      {apiKeys.isPending ? (
        <LoadingState label="Loading API keys…" />
      ) : apiKeys.isError ? (
        <ErrorState title="Could not load API keys" error={apiKeys.error} onRetry={() => void apiKeys.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No API keys" action={newButton}>
          Create a key to manage Gatehouse from scripts or CI.
        </EmptyState>
      ) : (
        <>
          <Table.ScrollContainer minWidth={720}>
            <Table verticalSpacing="sm" data-testid="api-keys-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Key</Table.Th>
                  <Table.Th>Description</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th aria-label="Actions" />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((apiKey) => (
                  <Table.Tr key={apiKey.id}>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <IconKey size={14} aria-hidden />
                        <Text ff="monospace" size="sm">
                          {apiKey.prefix}…
                        </Text>
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{apiKey.description}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="outline">{apiKey.role}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        {apiKey.last_used_at ? <RelativeTime timestamp={apiKey.last_used_at} /> : 'never'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        <RelativeTime timestamp={apiKey.created_at} />
                        {apiKey.created_by ? ` by ${apiKey.created_by}` : ''}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        color="red"
                        variant="subtle"
                        onClick={() => setRevoking(apiKey)}
                        aria-label={`Revoke ${apiKey.prefix}`}
                      >
                        Revoke
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {apiKeys.hasNextPage ? (
            <Group justify="center">
              <Button
                variant="default"
                loading={apiKeys.isFetchingNextPage}
                onClick={() => void apiKeys.fetchNextPage()}
              >
                Load more
              </Button>
            </Group>
          ) : null}
        </>
      )}
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
