import { Button, Group, Paper, Radio, SegmentedControl, Select, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { Link, useNavigate } from 'react-router';
import { useCreateEndpointMutation, type Endpoint, type EndpointType } from '../api/endpoints.api';
import { PageHeader } from '../components/page-header';
import { ServerErrorAlert } from '../forms/server-error-alert';
import { useApiForm } from '../forms/use-api-form';
import { defaultCloudPolicy } from '../lib/default-policies';
import { describeEndpointUrlProblem, describeUpstreamUrlProblem } from '../lib/url-field-rules';
import { paths } from '../paths';

interface NewEndpointValues {
  type: Exclude<EndpointType, 'agent'>;
  url: string;
  description: string;
  upstream_url: string;
  upstream_host_header: Endpoint['upstream_host_header'];
  /** Cloud only: start from the welcome page, or from a policy written (or pasted) here. */
  policy_start: 'starter' | 'custom';
  traffic_policy: string;
}

export function NewEndpointPage() {
  const navigate = useNavigate();
  const createEndpoint = useCreateEndpointMutation();
  const form = useApiForm<NewEndpointValues>({
    initialValues: {
      type: 'cloud',
      url: '',
      description: '',
      upstream_url: '',
      upstream_host_header: 'preserve',
      policy_start: 'starter',
      traffic_policy: defaultCloudPolicy,
    },
    validate: {
      url: (url, values) => describeEndpointUrlProblem(url, values.type),
      upstream_url: (upstreamUrl, values) =>
        values.type === 'internal' ? describeUpstreamUrlProblem(upstreamUrl) : null,
      traffic_policy: (policy, values) =>
        values.type === 'cloud' && values.policy_start === 'custom' && policy.trim() === ''
          ? 'Write the policy, or start from the welcome page'
          : null,
    },
    // Problems show once a field was left (or on submit), not while the first characters are typed.
    checkOn: { url: 'blur', upstream_url: 'blur' },
    fieldOfErrorCode: { ENDPOINT_URL_TAKEN: 'url' },
    // What the API said about the other type no longer applies.
    forgetServerErrorsOnChangeOf: ['type'],
  });
  const { type } = form.values;

  const create = async (values: NewEndpointValues) => {
    const endpoint = await createEndpoint.mutateAsync({
      type: values.type,
      url: values.url.trim(),
      description: values.description.trim(),
      metadata: '',
      upstream_host_header: values.upstream_host_header,
      // Capturing headers or bodies is a deliberate choice made later, in the endpoint's settings.
      request_log_capture: { headers: false, bodies: false },
      policy_message: values.type === 'cloud' ? 'Starting policy' : '',
      ...(values.type === 'cloud'
        ? { traffic_policy: values.policy_start === 'custom' ? values.traffic_policy : defaultCloudPolicy }
        : { upstream_url: values.upstream_url.trim() }),
    });
    await navigate(paths.endpointPolicy(endpoint.id));
  };

  return (
    <Stack maw={720}>
      <PageHeader title="New endpoint" />
      <Paper withBorder p="lg" component="form" onSubmit={form.submitWith(create)} noValidate aria-label="New endpoint">
        <Stack>
          <Radio.Group label="Type" {...form.getInputProps('type')}>
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
            description={
              type === 'cloud'
                ? 'The public URL clients call, e.g. https://mcp.example.com'
                : 'A private name cloud endpoints forward to; the host ends in .internal, e.g. https://mcp.example.internal'
            }
            // Placeholders say what to type, never a value that could pass for one already filled in.
            placeholder={type === 'cloud' ? 'Public URL' : 'Internal URL ending in .internal'}
            required
            {...form.getInputProps('url')}
            autoFocus
          />
          {type === 'internal' ? (
            <>
              <TextInput
                label="Upstream URL"
                description="Where requests go, reachable from the data planes, e.g. http://127.0.0.1:3333"
                placeholder="Upstream URL"
                required
                {...form.getInputProps('upstream_url')}
              />
              <Select
                label="Host header sent upstream"
                {...form.getInputProps('upstream_host_header')}
                allowDeselect={false}
                data={[
                  { value: 'preserve', label: "Preserve the client's Host header" },
                  { value: 'rewrite', label: "Rewrite it to the upstream's host" },
                ]}
              />
            </>
          ) : (
            <Stack gap="xs">
              <Text size="sm" fw={500} id="policy-start-label">
                Traffic Policy
              </Text>
              <SegmentedControl
                aria-labelledby="policy-start-label"
                data={[
                  { value: 'starter', label: 'Welcome page' },
                  { value: 'custom', label: 'Write or paste one' },
                ]}
                {...form.getInputProps('policy_start')}
              />
              {form.values.policy_start === 'custom' ? (
                <Textarea
                  label="Policy (YAML or JSON)"
                  description="Checked by the API like any save; you can refine it in the policy editor afterwards."
                  rows={10}
                  resize="vertical"
                  styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
                  spellCheck={false}
                  {...form.getInputProps('traffic_policy')}
                />
              ) : (
                <Text size="sm" c="dimmed">
                  The endpoint starts with a policy that answers “This is your new Gatehouse endpoint”. You will edit it
                  next.
                </Text>
              )}
            </Stack>
          )}
          <TextInput
            label="Description"
            description="Optional, up to 255 characters"
            placeholder="What this endpoint is for"
            maxLength={255}
            {...form.getInputProps('description')}
          />
          <ServerErrorAlert problem={form.unplacedProblem} title="The endpoint was not created" />
          <Group justify="flex-end">
            <Button variant="default" component={Link} to={paths.endpoints}>
              Cancel
            </Button>
            <Button type="submit" loading={form.submitting}>
              Create endpoint
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}
