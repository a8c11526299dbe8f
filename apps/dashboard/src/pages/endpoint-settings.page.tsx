import { Alert, Button, Divider, Group, Paper, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useDeleteEndpointMutation, useUpdateEndpointMutation, type Endpoint } from '../api/endpoints.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { describeUpstreamUrlProblem } from '../lib/url-field-rules';
import { paths } from '../paths';
import { usePermissions } from '../session/session';
import { useEndpointFromOutlet } from './endpoint-detail.page';

type HostHeaderMode = Endpoint['upstream_host_header'];

function EndpointSettingsForm({ endpoint, canEdit }: { endpoint: Endpoint; canEdit: boolean }) {
  const update = useUpdateEndpointMutation(endpoint.id);
  const [description, setDescription] = useState(endpoint.description);
  const [upstreamUrl, setUpstreamUrl] = useState(endpoint.upstream_url ?? '');
  const [hostHeaderMode, setHostHeaderMode] = useState<HostHeaderMode>(endpoint.upstream_host_header);
  const [captureHeaders, setCaptureHeaders] = useState(endpoint.request_log_capture.headers);
  const [captureBodies, setCaptureBodies] = useState(endpoint.request_log_capture.bodies);
  const isInternal = endpoint.type === 'internal';
  const upstreamProblem = isInternal ? describeUpstreamUrlProblem(upstreamUrl) : null;
  const captureChanged =
    captureHeaders !== endpoint.request_log_capture.headers || captureBodies !== endpoint.request_log_capture.bodies;
  const changed =
    description !== endpoint.description ||
    (isInternal &&
      (upstreamUrl !== (endpoint.upstream_url ?? '') || hostHeaderMode !== endpoint.upstream_host_header)) ||
    (!isInternal && captureChanged);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (upstreamProblem) return;
    update.mutate(
      {
        description: description.trim(),
        policy_message: '',
        ...(isInternal ? { upstream_url: upstreamUrl.trim(), upstream_host_header: hostHeaderMode } : {}),
        // Sent only when it changed, so saving a description never rewrites the capture setting.
        ...(!isInternal && captureChanged
          ? { request_log_capture: { headers: captureHeaders, bodies: captureBodies } }
          : {}),
      },
      { onSuccess: () => notifications.show({ color: 'green', message: 'Endpoint settings saved.' }) },
    );
  };

  return (
    <Paper withBorder p="lg" component="form" onSubmit={submit} aria-label="Endpoint settings">
      <Stack>
        <TextInput label="URL" value={endpoint.url} readOnly description="The URL identifies the endpoint." />
        <TextInput
          label="Description"
          maxLength={255}
          value={description}
          onChange={(event) => setDescription(event.currentTarget.value)}
          readOnly={!canEdit}
        />
        {isInternal ? (
          <>
            <TextInput
              label="Upstream URL"
              value={upstreamUrl}
              onChange={(event) => setUpstreamUrl(event.currentTarget.value)}
              error={upstreamProblem}
              readOnly={!canEdit}
            />
            <Select
              label="Host header sent upstream"
              value={hostHeaderMode}
              onChange={(value) => setHostHeaderMode(value ?? 'preserve')}
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
              checked={captureHeaders}
              onChange={(event) => setCaptureHeaders(event.currentTarget.checked)}
              disabled={!canEdit}
            />
            <Switch
              label="Store request and response bodies (first 8 KiB of text)"
              checked={captureBodies}
              onChange={(event) => setCaptureBodies(event.currentTarget.checked)}
              disabled={!canEdit}
            />
          </Stack>
        )}
        {update.isError ? (
          <Alert color="red" role="alert">
            {describeError(update.error)}
          </Alert>
        ) : null}
        {canEdit ? (
          <Group justify="flex-end">
            <Button type="submit" disabled={!changed || Boolean(upstreamProblem)} loading={update.isPending}>
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
  const { canEdit } = usePermissions();
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
