import { Alert, Button, Group, Paper, Radio, Select, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useCreateEndpointMutation, type EndpointType } from '../api/endpoints.api';
import { ApiError } from '@gatehouse/api-client';
import { describeError } from '../api/request-client';
import { PageHeader } from '../components/page-header';
import { defaultCloudPolicy } from '../lib/default-policies';
import { describeEndpointUrlProblem, describeUpstreamUrlProblem } from '../lib/url-field-rules';
import { paths } from '../paths';

type HostHeaderMode = 'preserve' | 'rewrite';

const fieldOfErrorCode: Record<string, 'url' | 'upstream'> = {
  ENDPOINT_URL_INVALID: 'url',
  ENDPOINT_URL_TAKEN: 'url',
  ENDPOINT_UPSTREAM_INVALID: 'upstream',
};

export function NewEndpointPage() {
  const navigate = useNavigate();
  const createEndpoint = useCreateEndpointMutation();
  const [type, setType] = useState<EndpointType>('cloud');
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [upstreamUrl, setUpstreamUrl] = useState('');
  const [hostHeaderMode, setHostHeaderMode] = useState<HostHeaderMode>('preserve');
  const [submitted, setSubmitted] = useState(false);
  // Problems show once a field was left (or on submit), not while the first characters are typed.
  const [visitedFields, setVisitedFields] = useState<ReadonlySet<'url' | 'upstream'>>(new Set());
  const markVisited = (field: 'url' | 'upstream') => setVisitedFields((current) => new Set(current).add(field));
  const showProblemOf = (field: 'url' | 'upstream') => submitted || visitedFields.has(field);

  const urlProblem = describeEndpointUrlProblem(url, type);
  const upstreamProblem = type === 'internal' ? describeUpstreamUrlProblem(upstreamUrl) : null;
  const serverError = createEndpoint.error;
  const serverField = serverError instanceof ApiError ? fieldOfErrorCode[serverError.code] : undefined;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (urlProblem || upstreamProblem) return;
    createEndpoint.mutate(
      {
        type,
        url: url.trim(),
        description: description.trim(),
        metadata: '',
        upstream_host_header: hostHeaderMode,
        // Capturing headers or bodies is a deliberate choice made later, in the endpoint's settings.
        request_log_capture: { headers: false, bodies: false },
        policy_message: type === 'cloud' ? 'Starting policy' : '',
        ...(type === 'cloud' ? { traffic_policy: defaultCloudPolicy } : { upstream_url: upstreamUrl.trim() }),
      },
      { onSuccess: (endpoint) => void navigate(paths.endpointPolicy(endpoint.id)) },
    );
  };

  return (
    <Stack maw={720}>
      <PageHeader title="New endpoint" />
      <Paper withBorder p="lg" component="form" onSubmit={submit} noValidate aria-label="New endpoint">
        <Stack>
          <Radio.Group
            label="Type"
            value={type}
            onChange={(value) => {
              setType(value);
              createEndpoint.reset();
            }}
          >
            <Stack gap="xs" mt={6}>
              <Radio
                value="cloud"
                label="Cloud"
                description="Receives traffic from the internet; its policy decides every request."
              />
              <Radio
                value="internal"
                label="Internal"
                description="A private upstream (for example an MCP server) that cloud endpoints forward to. Its host ends in .internal."
              />
            </Stack>
          </Radio.Group>
          <TextInput
            label="URL"
            description={type === 'cloud' ? 'e.g. https://mcp.example.com' : 'e.g. https://mcp.example.internal'}
            placeholder={type === 'cloud' ? 'https://mcp.example.com' : 'https://mcp.example.internal'}
            required
            value={url}
            onChange={(event) => {
              setUrl(event.currentTarget.value);
              if (serverField === 'url') createEndpoint.reset();
            }}
            onBlur={() => markVisited('url')}
            error={(showProblemOf('url') ? urlProblem : null) ?? (serverField === 'url' ? serverError?.message : null)}
            autoFocus
          />
          {type === 'internal' ? (
            <>
              <TextInput
                label="Upstream URL"
                description="Where requests go, reachable from the data planes"
                placeholder="http://127.0.0.1:3333"
                required
                value={upstreamUrl}
                onChange={(event) => {
                  setUpstreamUrl(event.currentTarget.value);
                  if (serverField === 'upstream') createEndpoint.reset();
                }}
                error={
                  (submitted || upstreamUrl ? upstreamProblem : null) ??
                  (serverField === 'upstream' ? serverError?.message : null)
                }
              />
              <Select
                label="Host header sent upstream"
                value={hostHeaderMode}
                onChange={(value) => setHostHeaderMode(value ?? 'preserve')}
                allowDeselect={false}
                data={[
                  { value: 'preserve', label: "Preserve the client's Host header" },
                  { value: 'rewrite', label: "Rewrite it to the upstream's host" },
                ]}
              />
            </>
          ) : (
            <Text size="sm" c="dimmed">
              The endpoint starts with a policy that answers “This is your new Gatehouse endpoint”. You will edit it
              next.
            </Text>
          )}
          <TextInput
            label="Description"
            description="Optional, up to 255 characters"
            maxLength={255}
            value={description}
            onChange={(event) => setDescription(event.currentTarget.value)}
          />
          {serverError && !serverField ? (
            <Alert color="red" role="alert" title="The endpoint was not created">
              {describeError(serverError)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" component={Link} to={paths.endpoints}>
              Cancel
            </Button>
            <Button type="submit" loading={createEndpoint.isPending}>
              Create endpoint
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}
