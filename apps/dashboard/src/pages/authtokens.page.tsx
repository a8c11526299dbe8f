import { Badge, Button, Code, Group, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlugConnected, IconPlus } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { authtokenUrlPatternProblem } from '@gatehouse/contracts';
import { useState } from 'react';
import {
  authtokenQueries,
  useCreateAuthtokenMutation,
  useRevokeAuthtokenMutation,
  type Authtoken,
  type CreatedAuthtoken,
} from '../api/authtokens.api';
import { describeError } from '../api/request-client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PageHeader } from '../components/page-header';
import { PagedTable } from '../components/paged-table';
import { EmptyState } from '../components/query-states';
import { RelativeTime } from '../components/relative-time';
import { SecretOnceDialog } from '../components/secret-once-dialog';
import { FormDialog } from '../forms/form-dialog';
import { useApiForm } from '../forms/use-api-form';
import { usePermissions } from '../session/session';

interface AuthtokenFormValues {
  description: string;
  url_patterns: string[];
}

/** The agent config the new token goes into, so the next step is a copy away. */
function agentConfigFor(created: CreatedAuthtoken): string {
  const host = created.url_patterns.find((pattern) => !pattern.startsWith('*.')) ?? 'mcp.example.internal';
  return [
    'version: 3',
    'agent:',
    '  authtoken: ${GATEHOUSE_AUTHTOKEN}',
    'endpoints:',
    '  - name: mcp',
    `    url: https://${host}`,
    '    upstream: { url: 3333 }',
  ].join('\n');
}

function CreateAuthtokenDialog({ onClose }: { onClose: () => void }) {
  const createAuthtoken = useCreateAuthtokenMutation();
  const form = useApiForm<AuthtokenFormValues>({
    initialValues: { description: '', url_patterns: [] },
    validate: {
      description: (value) =>
        value.trim() === '' ? 'Say what the token is for (which agent or machine), so it can be found later' : null,
      // The API's own rule, from @gatehouse/contracts: the form refuses exactly what the API would.
      url_patterns: (patterns) =>
        patterns.map((pattern) => authtokenUrlPatternProblem(pattern)).find((problem) => problem !== undefined) ?? null,
    },
    checkOn: { description: 'blur', url_patterns: 'change' },
  });
  const [created, setCreated] = useState<CreatedAuthtoken | null>(null);

  if (created)
    return (
      <SecretOnceDialog title="Authtoken created" secret={created.secret} testId="authtoken-secret" onClose={onClose}>
        <Text size="sm">
          Give it to <Code>gatehouse-agent</Code>, e.g. as <Code>GATEHOUSE_AUTHTOKEN</Code> with this config:
        </Text>
        <Code block data-testid="authtoken-agent-config">
          {agentConfigFor(created)}
        </Code>
      </SecretOnceDialog>
    );
  return (
    <FormDialog
      form={form}
      title="New authtoken"
      submitLabel="Create authtoken"
      onSubmit={(values) =>
        createAuthtoken
          .mutateAsync({ description: values.description.trim(), url_patterns: values.url_patterns })
          .then(setCreated)
      }
      onClose={onClose}
    >
      <TextInput
        label="Description"
        description="Which agent or machine uses it, e.g. Ada's laptop MCP server"
        maxLength={255}
        {...form.getInputProps('description')}
        data-autofocus
      />
      <TagsInput
        label="May claim"
        description="Endpoint hosts its agents may declare: exact (mcp.example.internal) or *.suffix (*.team-a.internal). Empty: any host."
        placeholder="Type a host pattern, then Enter"
        splitChars={[',', ' ']}
        maxTags={100}
        {...form.getInputProps('url_patterns')}
      />
    </FormDialog>
  );
}

function scopeOf(token: Authtoken) {
  if (token.url_patterns.length === 0) return <Text size="sm">any host</Text>;
  return (
    <Group gap={4}>
      {token.url_patterns.map((pattern) => (
        <Badge key={pattern} variant="light" tt="none">
          {pattern}
        </Badge>
      ))}
    </Group>
  );
}

export function AuthtokensPage() {
  const authtokens = useInfiniteQuery(authtokenQueries.list());
  const revoke = useRevokeAuthtokenMutation();
  const { canEdit } = usePermissions();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<Authtoken | null>(null);

  const newButton = canEdit ? (
    <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
      New authtoken
    </Button>
  ) : null;

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
        title="Authtokens"
        description="Credentials for gatehouse-agent: an agent beside a private server dials out with one and serves its endpoints. They can do nothing else."
        actions={newButton}
      />
      <PagedTable
        query={authtokens}
        loadingLabel="Loading authtokens…"
        errorTitle="Could not load authtokens"
        empty={
          <EmptyState title="No authtokens" action={newButton}>
            Create one to run gatehouse-agent next to a private MCP server.
          </EmptyState>
        }
        minWidth={760}
        testId="authtokens-table"
        rowKey={(token) => token.id}
        columns={[
          {
            header: 'Token',
            cell: (token) => (
              <Group gap={6} wrap="nowrap">
                <IconPlugConnected size={14} aria-hidden />
                <Text ff="monospace" size="sm">
                  {token.prefix}…
                </Text>
              </Group>
            ),
          },
          { header: 'Description', cell: (token) => <Text size="sm">{token.description}</Text> },
          { header: 'May claim', cell: scopeOf },
          {
            header: 'Status',
            cell: (token) =>
              token.revoked_at === null ? (
                <Badge color="green" variant="light">
                  active
                </Badge>
              ) : (
                <Badge color="gray" variant="light">
                  revoked <RelativeTime timestamp={token.revoked_at} />
                </Badge>
              ),
          },
          {
            header: 'Last used',
            cell: (token) => (
              <Text size="sm">{token.last_used_at ? <RelativeTime timestamp={token.last_used_at} /> : 'never'}</Text>
            ),
          },
          {
            header: 'Created',
            cell: (token) => (
              <Text size="sm">
                <RelativeTime timestamp={token.created_at} />
              </Text>
            ),
          },
          ...(canEdit
            ? [
                {
                  label: 'Actions',
                  cell: (token: Authtoken) =>
                    token.revoked_at === null ? (
                      <Button
                        size="xs"
                        color="red"
                        variant="subtle"
                        onClick={() => setRevoking(token)}
                        aria-label={`Revoke ${token.prefix}`}
                      >
                        Revoke
                      </Button>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
      {creating ? <CreateAuthtokenDialog onClose={() => setCreating(false)} /> : null}
      <ConfirmDialog
        opened={revoking !== null}
        title={`Revoke ${revoking?.prefix ?? ''}…?`}
        confirmLabel="Revoke authtoken"
        danger
        busy={revoke.isPending}
        onConfirm={confirmRevoke}
        onCancel={() => setRevoking(null)}
      >
        Agents using this token are refused from now on, with a message saying it was revoked. This cannot be undone.
      </ConfirmDialog>
    </Stack>
  );
}
