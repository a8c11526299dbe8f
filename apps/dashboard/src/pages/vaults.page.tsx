import { Alert, Badge, Button, Card, Code, Group, PasswordInput, Stack, Table, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconLock, IconPlus } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { describeError } from '../api/request-client';
import {
  useCreateVaultMutation,
  useDeleteSecretMutation,
  useDeleteVaultMutation,
  usePutSecretMutation,
  vaultQueries,
  type Vault,
} from '../api/vaults.api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PageHeader } from '../components/page-header';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { FormDialog } from '../forms/form-dialog';
import { useApiForm } from '../forms/use-api-form';
import { usePermissions } from '../session/session';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const nameRule = (value: string) =>
  namePattern.test(value) ? null : 'Letters, digits, "_" and "-", starting with a letter or digit (at most 64)';

function CreateVaultDialog({ onClose }: { onClose: () => void }) {
  const create = useCreateVaultMutation();
  const form = useApiForm<{ name: string; description: string }>({
    initialValues: { name: '', description: '' },
    validate: { name: nameRule },
    checkOn: { name: 'blur' },
  });
  return (
    <FormDialog
      form={form}
      title="New vault"
      submitLabel="Create vault"
      onSubmit={(values) => create.mutateAsync({ name: values.name, description: values.description }).then(onClose)}
      onClose={onClose}
    >
      <TextInput
        label="Name"
        description="Policies name it in secrets.get('name', …)"
        {...form.getInputProps('name')}
        data-autofocus
      />
      <TextInput label="Description" maxLength={255} {...form.getInputProps('description')} />
    </FormDialog>
  );
}

/** Sets a new secret or rotates one; the value is sent once and never shown again. */
function SetSecretDialog({ vault, name, onClose }: { vault: string; name: string | null; onClose: () => void }) {
  const put = usePutSecretMutation();
  const form = useApiForm<{ name: string; value: string; description: string }>({
    initialValues: { name: name ?? '', value: '', description: '' },
    validate: {
      name: nameRule,
      value: (value) => (value === '' ? 'A secret value cannot be empty' : null),
    },
    checkOn: { name: 'blur', value: 'blur' },
  });
  return (
    <FormDialog
      form={form}
      title={name === null ? `New secret in ${vault}` : `Rotate ${vault}/${name}`}
      submitLabel={name === null ? 'Store secret' : 'Rotate secret'}
      onSubmit={(values) =>
        put.mutateAsync({ vault, name: values.name, value: values.value, description: values.description }).then(() => {
          notifications.show({
            color: 'green',
            message: `Stored ${vault}/${values.name}; the value is never shown again.`,
          });
          onClose();
        })
      }
      onClose={onClose}
    >
      <TextInput label="Name" disabled={name !== null} {...form.getInputProps('name')} data-autofocus={name === null} />
      <PasswordInput
        label="Value"
        description="Write-only: stored encrypted, never returned. A rotation reaches every data plane with the next config change."
        autoComplete="off"
        {...form.getInputProps('value')}
        data-autofocus={name !== null}
      />
      <TextInput label="Description" maxLength={255} {...form.getInputProps('description')} />
    </FormDialog>
  );
}

type Deleting = { vault: string; secret: string | null };

function VaultCard({
  vault,
  canEdit,
  onSet,
  onDelete,
}: {
  vault: Vault;
  canEdit: boolean;
  onSet: (name: string | null) => void;
  onDelete: (target: Deleting) => void;
}) {
  return (
    <Card withBorder data-testid={`vault-${vault.name}`}>
      <Group justify="space-between" mb="xs">
        <Group gap={6}>
          <IconLock size={16} aria-hidden />
          <Text fw={600}>{vault.name}</Text>
          {vault.description === '' ? null : (
            <Text size="sm" c="dimmed">
              {vault.description}
            </Text>
          )}
        </Group>
        {canEdit ? (
          <Group gap="xs">
            <Button size="xs" variant="light" leftSection={<IconPlus size={14} />} onClick={() => onSet(null)}>
              New secret
            </Button>
            <Button
              size="xs"
              color="red"
              variant="subtle"
              onClick={() => onDelete({ vault: vault.name, secret: null })}
            >
              Delete vault
            </Button>
          </Group>
        ) : null}
      </Group>
      {vault.secrets.length === 0 ? (
        <Text size="sm" c="dimmed">
          No secrets yet.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Secret</Table.Th>
              <Table.Th>Use in a policy</Table.Th>
              <Table.Th>Description</Table.Th>
              <Table.Th>Updated</Table.Th>
              {canEdit ? <Table.Th>Actions</Table.Th> : null}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {vault.secrets.map((secret) => (
              <Table.Tr key={secret.name}>
                <Table.Td>
                  <Badge variant="light" tt="none">
                    {secret.name}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Code>{`secrets.get('${vault.name}', '${secret.name}')`}</Code>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{secret.description}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    <RelativeTime timestamp={secret.updated_at} /> by {secret.updated_by}
                  </Text>
                </Table.Td>
                {canEdit ? (
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button size="xs" variant="subtle" onClick={() => onSet(secret.name)}>
                        Rotate
                      </Button>
                      <Button
                        size="xs"
                        color="red"
                        variant="subtle"
                        onClick={() => onDelete({ vault: vault.name, secret: secret.name })}
                      >
                        Delete
                      </Button>
                    </Group>
                  </Table.Td>
                ) : null}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

export function VaultsPage() {
  const vaults = useQuery(vaultQueries.list());
  const { canEdit } = usePermissions();
  const deleteVault = useDeleteVaultMutation();
  const deleteSecret = useDeleteSecretMutation();
  const [creating, setCreating] = useState(false);
  const [setting, setSetting] = useState<{ vault: string; name: string | null } | null>(null);
  const [deleting, setDeleting] = useState<Deleting | null>(null);
  const [refused, setRefused] = useState<{ label: string; message: string } | null>(null);

  const newButton = canEdit ? (
    <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
      New vault
    </Button>
  ) : null;

  const confirmDelete = () => {
    if (!deleting) return;
    const label = deleting.secret === null ? `vault ${deleting.vault}` : `${deleting.vault}/${deleting.secret}`;
    const callbacks = {
      onSuccess: () => notifications.show({ color: 'green', message: `Deleted ${label}.` }),
      // A 409 names the endpoints whose live policy still uses it: change those policies first.
      // It stays on the page (not a toast) so the endpoint list can be read and acted on.
      onError: (error: unknown) => setRefused({ label, message: describeError(error) }),
      onSettled: () => setDeleting(null),
    };
    if (deleting.secret === null) deleteVault.mutate(deleting.vault, callbacks);
    else deleteSecret.mutate({ vault: deleting.vault, name: deleting.secret }, callbacks);
  };

  return (
    <Stack>
      <PageHeader
        title="Vaults"
        description="Secrets policies read with secrets.get('vault', 'name'). Values are encrypted at rest, write-only, and written as [secret] in logs."
        actions={newButton}
      />
      {refused === null ? null : (
        <Alert
          color="red"
          title={`Could not delete ${refused.label}`}
          withCloseButton
          onClose={() => setRefused(null)}
          data-testid="vault-delete-refused"
        >
          {refused.message}
        </Alert>
      )}
      {vaults.isError ? (
        <Text c="red">Could not load vaults: {describeError(vaults.error)}</Text>
      ) : vaults.data === undefined ? (
        <Text c="dimmed">Loading vaults…</Text>
      ) : vaults.data.length === 0 ? (
        <EmptyState title="No vaults" action={newButton}>
          Create a vault, then store passwords and keys in it instead of writing them into policies.
        </EmptyState>
      ) : (
        vaults.data.map((vault) => (
          <VaultCard
            key={vault.name}
            vault={vault}
            canEdit={canEdit}
            onSet={(name) => setSetting({ vault: vault.name, name })}
            onDelete={setDeleting}
          />
        ))
      )}
      {creating ? <CreateVaultDialog onClose={() => setCreating(false)} /> : null}
      {setting ? <SetSecretDialog vault={setting.vault} name={setting.name} onClose={() => setSetting(null)} /> : null}
      <ConfirmDialog
        opened={deleting !== null}
        title={
          deleting?.secret === null
            ? `Delete vault ${deleting?.vault ?? ''}?`
            : `Delete ${deleting?.vault ?? ''}/${deleting?.secret ?? ''}?`
        }
        confirmLabel="Delete"
        danger
        busy={deleteVault.isPending || deleteSecret.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
      >
        Refused while a live policy names it (the message lists the endpoints). This cannot be undone.
      </ConfirmDialog>
    </Stack>
  );
}
