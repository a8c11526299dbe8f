import { ActionIcon, Badge, Button, Group, Stack, Text, TextInput, Textarea, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import {
  ipCategoryQueries,
  useCreateIpCategoryMutation,
  useDeleteIpCategoryMutation,
  usePutIpCategoryMutation,
  type IpCategory,
} from '../api/ip-categories.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { FormDialog } from '../forms/form-dialog';
import { useApiForm } from '../forms/use-api-form';
import { cidrProblems, describeBadCidr, parseCidrEntries } from '../lib/cidr-lines';
import { usePermissions } from '../session/session';

/** The API's rule for category names (ip-categories.dto.ts). */
const categoryNamePattern = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/;
const visibleCidrCount = 4;

/**
 * How many addresses a category holds, for phones where the Addresses column is hidden. A count rather than the
 * addresses themselves: the same CIDR twice in a row would be two matches for whoever looks it up by text.
 */
function addressCount(cidrs: readonly string[]): string {
  if (cidrs.length === 0) return 'no addresses';
  return cidrs.length === 1 ? '1 address' : `${cidrs.length} addresses`;
}

interface CategoryDialogProps {
  /** null creates a new category. */
  category: IpCategory | null;
  onClose: () => void;
}

function IpCategoryDialog({ category, onClose }: CategoryDialogProps) {
  const putCategory = usePutIpCategoryMutation();
  const createCategory = useCreateIpCategoryMutation();
  const form = useApiForm({
    initialValues: {
      name: category?.name ?? '',
      description: category?.description ?? '',
      cidrs: category?.cidrs.join('\n') ?? '',
    },
    validate: {
      name: (name) =>
        categoryNamePattern.test(name) ? null : 'Lower-case letters, digits, ".", "_" and "-", e.g. com.example.office',
      cidrs: cidrProblems,
    },
    // Creating never replaces: a taken name is the name field's problem (POST answers 409 IP_CATEGORY_EXISTS).
    fieldOfErrorCode: { IP_CATEGORY_EXISTS: 'name' },
    // The API names a bad address by its 0-based place in the list (cidrs.3); the field names its line instead.
    placeDetail: (detail, values) => {
      const [field, index] = detail.path?.split('.') ?? [];
      const entry = index === undefined ? undefined : parseCidrEntries(values.cidrs)[Number(index)];
      return field === 'cidrs' && entry !== undefined
        ? { field, message: describeBadCidr(entry, detail.message) }
        : undefined;
    },
  });

  return (
    <FormDialog
      form={form}
      title={category ? `Edit ${category.name}` : 'New IP category'}
      submitLabel="Save category"
      size="lg"
      onSubmit={async ({ name, description, cidrs }) => {
        const body = { description: description.trim(), cidrs: parseCidrEntries(cidrs).map((entry) => entry.cidr) };
        if (category) await putCategory.mutateAsync({ name, body });
        else await createCategory.mutateAsync({ name, ...body });
        notifications.show({ color: 'green', message: `Saved IP category ${name}.` });
        onClose();
      }}
      onClose={onClose}
    >
      <TextInput
        label="Name"
        description="Used in policies: 'com.example.office' in conn.client_ip.categories"
        {...form.getInputProps('name')}
        readOnly={category !== null}
        data-autofocus
      />
      <TextInput label="Description" maxLength={255} {...form.getInputProps('description')} />
      <Textarea
        label="Addresses"
        description="IPv4 or IPv6 CIDRs or single addresses, one per line"
        autosize
        minRows={4}
        maxRows={14}
        ff="monospace"
        // One problem per line, as the messages name lines.
        errorProps={{ style: { whiteSpace: 'pre-line' } }}
        {...form.getInputProps('cidrs')}
      />
    </FormDialog>
  );
}

export function IpCategoriesPage() {
  const { canEdit } = usePermissions();
  const categories = useQuery(ipCategoryQueries.list());
  const deleteCategory = useDeleteIpCategoryMutation();
  const [editing, setEditing] = useState<IpCategory | 'new' | null>(null);
  const [deleting, setDeleting] = useState<IpCategory | null>(null);

  const newButton = canEdit ? (
    <Button leftSection={<IconPlus size={16} />} onClick={() => setEditing('new')}>
      New IP category
    </Button>
  ) : null;

  const confirmDelete = () => {
    if (!deleting) return;
    deleteCategory.mutate(deleting.name, {
      onSuccess: () => notifications.show({ color: 'green', message: `Deleted IP category ${deleting.name}.` }),
      onError: (error) => notifications.show({ color: 'red', title: 'Delete failed', message: describeError(error) }),
      onSettled: () => setDeleting(null),
    });
  };

  return (
    <Stack>
      <PageHeader
        title="IP categories"
        description="Named address ranges. Policies test them with 'name' in conn.client_ip.categories."
        actions={newButton}
      />
      <PagedTable
        query={categories}
        loadingLabel="Loading IP categories…"
        errorTitle="Could not load IP categories"
        empty={
          <EmptyState title="No IP categories" action={newButton}>
            Create one for your office or partner networks.
          </EmptyState>
        }
        minWidth={720}
        // A phone keeps the name (with how many addresses it holds) and the row's actions in view.
        mobileMinWidth={300}
        testId="ip-categories-table"
        rowKey={(category) => category.name}
        columns={[
          {
            header: 'Name',
            cell: (category) => (
              <Stack gap={2}>
                <Group gap={6} wrap="nowrap">
                  <Text ff="monospace" size="sm" style={{ wordBreak: 'break-all' }}>
                    {category.name}
                  </Text>
                  {category.builtin ? (
                    <Badge size="xs" variant="light" color="gray">
                      built-in
                    </Badge>
                  ) : null}
                </Group>
                {/* The Addresses column is hidden on phones: their number stays under the name. */}
                <Text size="xs" c="dimmed" hiddenFrom="sm">
                  {addressCount(category.cidrs)}
                </Text>
              </Stack>
            ),
          },
          {
            header: 'Description',
            cell: (category) => <Text size="sm">{category.description}</Text>,
            visibleFrom: 'sm',
          },
          {
            header: 'Addresses',
            visibleFrom: 'sm',
            cell: (category) => (
              <Group gap={4}>
                {category.cidrs.slice(0, visibleCidrCount).map((cidr) => (
                  <Badge key={cidr} variant="outline" color="gray" tt="none" ff="monospace">
                    {cidr}
                  </Badge>
                ))}
                {category.cidrs.length > visibleCidrCount ? (
                  <Text size="xs" c="dimmed">
                    +{category.cidrs.length - visibleCidrCount} more
                  </Text>
                ) : null}
                {category.cidrs.length === 0 ? (
                  <Text size="xs" c="dimmed">
                    none
                  </Text>
                ) : null}
              </Group>
            ),
          },
          ...(canEdit
            ? [
                {
                  label: 'Actions',
                  cell: (category: IpCategory) =>
                    category.builtin ? null : (
                      <Group gap={4} wrap="nowrap">
                        <Tooltip label="Edit">
                          <ActionIcon
                            variant="subtle"
                            aria-label={`Edit ${category.name}`}
                            onClick={() => setEditing(category)}
                          >
                            <IconPencil size={16} />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Delete">
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Delete ${category.name}`}
                            onClick={() => setDeleting(category)}
                          >
                            <IconTrash size={16} />
                          </ActionIcon>
                        </Tooltip>
                      </Group>
                    ),
                },
              ]
            : []),
        ]}
      />
      {editing ? (
        <IpCategoryDialog category={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />
      ) : null}
      <ConfirmDialog
        opened={deleting !== null}
        title={`Delete ${deleting?.name ?? ''}?`}
        confirmLabel="Delete category"
        danger
        busy={deleteCategory.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
      >
        Policies that test this category will no longer match it.
      </ConfirmDialog>
    </Stack>
  );
}
