import { Badge, Button, Group, PasswordInput, Select, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Role } from '../api/auth.api';
import { describeError } from '../api/request-client';
import {
  useCreateUserMutation,
  useDeleteUserMutation,
  useUpdateUserMutation,
  userQueries,
  type User,
} from '../api/users.api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { FormDialog } from '../forms/form-dialog';
import { useApiForm } from '../forms/use-api-form';
import { useCurrentActor } from '../session/session';
import { describePasswordProblem, minimumPasswordLength } from '../lib/password-rules';

const roleOptions: Array<{ value: Role; label: string }> = [
  { value: 'viewer', label: 'Viewer' },
  { value: 'editor', label: 'Editor' },
  { value: 'admin', label: 'Admin' },
];

function AddUserDialog({ onClose }: { onClose: () => void }) {
  const createUser = useCreateUserMutation();
  const form = useApiForm<{ email: string; password: string; role: Role }>({
    initialValues: { email: '', password: '', role: 'viewer' },
    validate: { password: describePasswordProblem },
    // "Already taken" belongs to the email field, so it goes away as soon as the email is edited.
    fieldOfErrorCode: { USER_EMAIL_TAKEN: 'email' },
    forgetServerErrorsOnChangeOf: ['email'],
  });

  return (
    <FormDialog
      form={form}
      title="Add user"
      submitLabel="Add user"
      onSubmit={async ({ email, password, role }) => {
        const user = await createUser.mutateAsync({ email: email.trim(), password, role });
        notifications.show({ color: 'green', message: `Added ${user.email} as ${user.role}.` });
        onClose();
      }}
      onClose={onClose}
    >
      <TextInput label="Email" type="email" required {...form.getInputProps('email')} data-autofocus />
      <PasswordInput
        label="Initial password"
        description={`At least ${minimumPasswordLength} characters; share it with the user safely`}
        required
        autoComplete="new-password"
        {...form.getInputProps('password')}
      />
      <Select label="Role" data={roleOptions} {...form.getInputProps('role')} allowDeselect={false} />
    </FormDialog>
  );
}

function SetPasswordDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const updateUser = useUpdateUserMutation();
  const form = useApiForm({ initialValues: { password: '' }, validate: { password: describePasswordProblem } });

  return (
    <FormDialog
      form={form}
      title={`New password for ${user.email}`}
      submitLabel="Set password"
      onSubmit={async ({ password }) => {
        await updateUser.mutateAsync({ userId: user.id, body: { password } });
        notifications.show({ color: 'green', message: `Set a new password for ${user.email}.` });
        onClose();
      }}
      onClose={onClose}
    >
      <PasswordInput
        label="New password"
        autoComplete="new-password"
        {...form.getInputProps('password')}
        data-autofocus
      />
    </FormDialog>
  );
}

export function UsersPage() {
  const actor = useCurrentActor();
  const users = useInfiniteQuery(userQueries.list());
  const updateUser = useUpdateUserMutation();
  const deleteUser = useDeleteUserMutation();
  const [adding, setAdding] = useState(false);
  const [settingPasswordFor, setSettingPasswordFor] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const isSelf = (user: User) => actor.user?.id === user.id || actor.id === user.id;

  const addButton = (
    <Button leftSection={<IconPlus size={16} />} onClick={() => setAdding(true)}>
      Add user
    </Button>
  );

  const changeRole = (user: User, role: Role) => {
    if (role === user.role) return;
    updateUser.mutate(
      { userId: user.id, body: { role } },
      {
        onSuccess: () => notifications.show({ color: 'green', message: `${user.email} is now ${role}.` }),
        onError: (error) =>
          notifications.show({ color: 'red', title: 'Role not changed', message: describeError(error) }),
      },
    );
  };

  const confirmDelete = () => {
    if (!deleting) return;
    deleteUser.mutate(deleting.id, {
      onSuccess: () => notifications.show({ color: 'green', message: `Removed ${deleting.email}.` }),
      onError: (error) =>
        notifications.show({ color: 'red', title: 'User not removed', message: describeError(error) }),
      onSettled: () => setDeleting(null),
    });
  };

  return (
    <Stack>
      <PageHeader
        title="Users"
        description="Viewers read; editors change endpoints, policies and IP categories; admins also manage users and keys."
        actions={addButton}
      />
      <PagedTable
        query={users}
        loadingLabel="Loading users…"
        errorTitle="Could not load users"
        empty={<EmptyState title="No users" action={addButton} />}
        minWidth={720}
        mobileMinWidth={340}
        testId="users-table"
        rowKey={(user) => user.id}
        columns={[
          {
            header: 'Email',
            cell: (user) => (
              <Group gap={6}>
                <Text size="sm">{user.email}</Text>
                {isSelf(user) ? (
                  <Badge size="xs" variant="light">
                    you
                  </Badge>
                ) : null}
              </Group>
            ),
          },
          {
            header: 'Role',
            cell: (user) => (
              <Select
                aria-label={`Role of ${user.email}`}
                data={roleOptions}
                value={user.role}
                onChange={(value) => value && changeRole(user, value)}
                allowDeselect={false}
                w={130}
                size="xs"
              />
            ),
          },
          {
            header: 'Last sign-in',
            visibleFrom: 'md',
            cell: (user) => (
              <Text size="sm">{user.last_login_at ? <RelativeTime timestamp={user.last_login_at} /> : 'never'}</Text>
            ),
          },
          {
            header: 'Added',
            visibleFrom: 'md',
            cell: (user) => (
              <Text size="sm">
                <RelativeTime timestamp={user.created_at} />
              </Text>
            ),
          },
          {
            label: 'Actions',
            cell: (user) => (
              <Group gap={4} wrap="nowrap" justify="flex-end">
                <Button size="xs" variant="subtle" onClick={() => setSettingPasswordFor(user)}>
                  Set password
                </Button>
                {isSelf(user) ? null : (
                  <Button
                    size="xs"
                    variant="subtle"
                    color="red"
                    onClick={() => setDeleting(user)}
                    aria-label={`Remove ${user.email}`}
                  >
                    Remove
                  </Button>
                )}
              </Group>
            ),
          },
        ]}
      />
      {adding ? <AddUserDialog onClose={() => setAdding(false)} /> : null}
      {settingPasswordFor ? (
        <SetPasswordDialog user={settingPasswordFor} onClose={() => setSettingPasswordFor(null)} />
      ) : null}
      <ConfirmDialog
        opened={deleting !== null}
        title={`Remove ${deleting?.email ?? ''}?`}
        confirmLabel="Remove user"
        danger
        busy={deleteUser.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
      >
        They are signed out everywhere and can no longer sign in.
      </ConfirmDialog>
    </Stack>
  );
}
