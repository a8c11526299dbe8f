import { Button, Divider, Group, Paper, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useDeleteEndpointMutation, useUpdateEndpointMutation, type Endpoint } from '../api/endpoints.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ServerErrorAlert } from '../forms/server-error-alert';
import { useApiForm } from '../forms/use-api-form';
import { describeUpstreamUrlProblem } from '../lib/url-field-rules';
import { paths } from '../paths';
import { useEndpointEditing, useEndpointFromOutlet } from './endpoint-detail.page';

interface EndpointSettingsValues {
  description: string;
  upstream_url: string;
  upstream_host_header: Endpoint['upstream_host_header'];
  capture_headers: boolean;
  capture_bodies: boolean;
}

function EndpointSettingsForm({ endpoint, canEdit }: { endpoint: Endpoint; canEdit: boolean }) {
  const update = useUpdateEndpointMutation(endpoint.id);
  const isInternal = endpoint.type === 'internal';
  const form = useApiForm<EndpointSettingsValues>({
    initialValues: {
      description: endpoint.description,
      upstream_url: endpoint.upstream_url ?? '',
      upstream_host_header: endpoint.upstream_host_header,
      capture_headers: endpoint.request_log_capture.headers,
      capture_bodies: endpoint.request_log_capture.bodies,
    },
    validate: { upstream_url: (upstreamUrl) => (isInternal ? describeUpstreamUrlProblem(upstreamUrl) : null) },
    checkOn: { upstream_url: 'change' },
  });
  // Only what the form shows can change: the upstream of an internal endpoint, the capture of a cloud one.
  const changed = form.isDirty();

  const save = async (values: EndpointSettingsValues) => {
    const captureChanged =
      values.capture_headers !== endpoint.request_log_capture.headers ||
      values.capture_bodies !== endpoint.request_log_capture.bodies;
    await update.mutateAsync({
      description: values.description.trim(),
      policy_message: '',
      ...(isInternal
        ? { upstream_url: values.upstream_url.trim(), upstream_host_header: values.upstream_host_header }
        : {}),
      // Sent only when it changed, so saving a description never rewrites the capture setting.
      ...(!isInternal && captureChanged
        ? { request_log_capture: { headers: values.capture_headers, bodies: values.capture_bodies } }
        : {}),
    });
    notifications.show({ color: 'green', message: 'Endpoint settings saved.' });
  };

  return (
    <Paper withBorder p="lg" component="form" onSubmit={form.submitWith(save)} aria-label="Endpoint settings">
      <Stack>
        <TextInput label="URL" value={endpoint.url} readOnly description="The URL identifies the endpoint." />
        <TextInput label="Description" maxLength={255} {...form.getInputProps('description')} readOnly={!canEdit} />
        {isInternal ? (
          <>
            <TextInput label="Upstream URL" {...form.getInputProps('upstream_url')} readOnly={!canEdit} />
            <Select
              label="Host header sent upstream"
              {...form.getInputProps('upstream_host_header')}
              allowDeselect={false}
              disabled={!canEdit}
              data={[
                { value: 'preserve', label: "Preserve the client's Host header" },
                { value: 'rewrite', label: "Rewrite it to the upstream's host" },
              ]}
            />
          </>
        ) : (
          // Internal endpoints are reached only through forward-internal: the cloud endpoint that received the
          // request is the one whose setting counts, so the toggles live there only.
          <Stack gap="xs" role="group" aria-label="Request log capture">
            <Text size="sm" fw={500}>
              Request log
            </Text>
            <Text size="xs" c="dimmed">
              Authorization, Proxy-Authorization, Cookie and Set-Cookie are always removed; everything else is stored as
              sent.
            </Text>
            <Switch
              label="Store request and response headers"
              {...form.getInputProps('capture_headers', { type: 'checkbox' })}
              disabled={!canEdit}
            />
            <Switch
              label="Store request and response bodies (first 8 KiB of text)"
              {...form.getInputProps('capture_bodies', { type: 'checkbox' })}
              disabled={!canEdit}
            />
          </Stack>
        )}
        <ServerErrorAlert problem={form.unplacedProblem} />
        {canEdit ? (
          <Group justify="flex-end">
            <Button type="submit" disabled={!changed || !form.isValid()} loading={form.submitting}>
              Save settings
            </Button>
          </Group>
        ) : null}
      </Stack>
    </Paper>
  );
}

export function EndpointSettingsPage() {
  const endpoint = useEndpointFromOutlet();
  const { canEdit } = useEndpointEditing(endpoint);
  const navigate = useNavigate();
  const deleteEndpoint = useDeleteEndpointMutation();
  const [confirmingDelete, setConfirmingDelete] = useState(false);

  const confirmDelete = () => {
    deleteEndpoint.mutate(endpoint.id, {
      onSuccess: () => {
        notifications.show({ color: 'green', message: `Deleted ${endpoint.url}.` });
        void navigate(paths.endpoints, { replace: true });
      },
      onError: (error) => {
        setConfirmingDelete(false);
        notifications.show({ color: 'red', title: 'Delete failed', message: describeError(error) });
      },
    });
  };

  return (
    <Stack maw={720}>
      <EndpointSettingsForm key={endpoint.updated_at} endpoint={endpoint} canEdit={canEdit} />
      {canEdit ? (
        <>
          <Divider />
          <Paper withBorder p="lg" style={{ borderColor: 'var(--mantine-color-red-4)' }}>
            <Group justify="space-between">
              <Stack gap={2}>
                <Title order={2} size="h5">
                  Delete this endpoint
                </Title>
                <Text size="sm" c="dimmed">
                  Data planes stop serving it at once. Its policy versions are deleted too.
                </Text>
              </Stack>
              <Button
                color="red"
                variant="light"
                leftSection={<IconTrash size={16} />}
                onClick={() => setConfirmingDelete(true)}
              >
                Delete endpoint
              </Button>
            </Group>
          </Paper>
        </>
      ) : null}
      <ConfirmDialog
        opened={confirmingDelete}
        title={`Delete ${endpoint.url}?`}
        confirmLabel="Delete endpoint"
        danger
        busy={deleteEndpoint.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setConfirmingDelete(false)}
      >
        This cannot be undone. Requests to this URL will get a 404 from every data plane.
      </ConfirmDialog>
    </Stack>
  );
}
