import {
  Anchor,
  Badge,
  Button,
  Code,
  CopyButton,
  Divider,
  Group,
  Loader,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { IconCheck, IconCopy, IconTestPipe } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { policyVersionQueries } from '../api/policy-versions.api';
import type { RequestLog, RequestLogSummary } from '../api/request-logs.api';
import { formatAbsoluteTime } from '../lib/format-time';
import { paths } from '../paths';
import { testCaseFromRequestLog } from '../policy-editor/test-from-request-log';
import {
  categoryFindings,
  curlCommand,
  describeErrorCode,
  formatBody,
  ruleExpressions,
  statusNote,
} from './request-log-insights';

export function statusColor(status: number): string {
  if (status >= 500) return 'red';
  // A rate limit is the policy working, not a failure: its own color, apart from refusals.
  if (status === 429) return 'yellow';
  if (status >= 400) return 'orange';
  if (status >= 300) return 'blue';
  return 'green';
}

/**
 * One short name for who called: the JWT subject, else the basic-auth user, else the OAuth client, else the
 * rate-limit credential fingerprint. Null when nothing identified the caller.
 */
export function callerLabel(caller: RequestLogSummary['caller'] | undefined): string | null {
  if (!caller) return null;
  return caller.subject ?? caller.basic_auth_user ?? caller.client_id ?? caller.credential_fingerprint ?? null;
}

function CallerFacts({ caller }: { caller: NonNullable<RequestLogSummary['caller']> }) {
  const facts: [string, string | null][] = [
    ['subject', caller.subject],
    ['client', caller.client_id],
    ['issuer', caller.issuer],
    ['basic-auth user', caller.basic_auth_user],
    ['credential fingerprint', caller.credential_fingerprint],
  ];
  return (
    <Stack gap={2} data-testid="request-log-caller">
      {facts
        .filter((fact): fact is [string, string] => fact[1] !== null)
        .map(([label, value]) => (
          <Text key={label} size="sm">
            {label} <Code>{value}</Code>
          </Text>
        ))}
    </Stack>
  );
}

type AiGatewayFacts = NonNullable<RequestLogSummary['ai_gateway']>;

/** Tokens as "11 in / 5 out", with the estimate when the provider reported nothing (the stream was cut, say). */
export function aiTokensLabel(ai: AiGatewayFacts): string {
  if (ai.input_tokens === null && ai.output_tokens === null) return `~${ai.input_tokens_estimated} in (estimated)`;
  return `${ai.input_tokens ?? '?'} in / ${ai.output_tokens ?? '?'} out`;
}

/** USD with enough digits for a short request (a few millionths of a dollar). */
export function formatCost(usd: number | null): string {
  if (usd === null) return 'unknown (no price for this model)';
  return usd >= 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toPrecision(3)}`;
}

/** ai-gateway: who answered, what it cost, and every attempt in order with why it failed. */
function AiGatewayFactsView({ ai }: { ai: AiGatewayFacts }) {
  return (
    <Stack gap={4} data-testid="request-log-ai-gateway">
      <Text size="sm">
        {ai.provider !== null && ai.model !== null ? (
          <>
            <Code>
              {ai.provider}:{ai.model}
            </Code>{' '}
          </>
        ) : (
          <Badge color="red" size="xs" mr={4}>
            {ai.error_code ?? 'failed'}
          </Badge>
        )}
        {aiTokensLabel(ai)}, {formatCost(ai.cost_usd)}
        {ai.streamed ? ', streamed' : ''}
      </Text>
      <Table withRowBorders={false} verticalSpacing={2} fz="xs">
        <Table.Tbody>
          {ai.attempts.map((attempt, index) => (
            <Table.Tr key={index}>
              <Table.Td>{index + 1}.</Table.Td>
              <Table.Td>
                <Code>
                  {attempt.provider}:{attempt.model}
                </Code>
              </Table.Td>
              <Table.Td ff="monospace">{attempt.api_key}</Table.Td>
              <Table.Td>
                <Badge size="xs" color={attempt.status === 'success' ? 'green' : 'red'} variant="light">
                  {attempt.status_code === 0 ? 'no answer' : attempt.status_code}
                </Badge>
              </Table.Td>
              <Table.Td>{attempt.duration_ms.toFixed(0)} ms</Table.Td>
              <Table.Td>{attempt.error ?? ''}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function DetailRow({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={170} fw={500} c="dimmed">
        {label}
      </Table.Th>
      <Table.Td>{children}</Table.Td>
    </Table.Tr>
  );
}

/** A captured body, JSON pretty-printed so it can be read. */
function BodyBlock({ body }: { body: string }) {
  const formatted = formatBody(body);
  return (
    <Code
      block
      data-format={formatted.json ? 'json' : 'text'}
      style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}
    >
      {formatted.text}
    </Code>
  );
}

function ruleLabel(rule: { phase: string; rule_index: number; rule_name: string | null }): string {
  return `${rule.phase} #${rule.rule_index + 1}${rule.rule_name ? ` ${rule.rule_name}` : ''}`;
}

interface RequestLogDetailsProps {
  /** The row as listed (shown at once). */
  summary: RequestLogSummary;
  /** The full record with the decision trace, once loaded. */
  detail: RequestLog | undefined;
}

/** Everything known about one proxied request, the decision first: which rule and action answered it. */
export function RequestLogDetails({ summary, detail }: RequestLogDetailsProps) {
  const decision = summary.decision;
  const navigate = useNavigate();
  // The deciding rule's text comes from the policy version that decided (versions never change).
  const policyVersion = useQuery({
    ...policyVersionQueries.detail(summary.endpoint_id ?? '', summary.policy_version ?? 1),
    enabled: decision !== null && summary.endpoint_id !== null && summary.policy_version !== null,
  });
  const decidedHere =
    detail === undefined ||
    detail.trace.some(
      (trace) =>
        decision !== null &&
        trace.endpoint_id === summary.endpoint_id &&
        trace.phase === decision.phase &&
        trace.rule_index === decision.rule_index,
    );
  const expressions =
    decision && policyVersion.data && decidedHere
      ? ruleExpressions(policyVersion.data.traffic_policy, decision.phase, decision.rule_index)
      : null;
  const findings = expressions ? categoryFindings(expressions, summary.client_ip_categories) : [];
  const errorDescription = summary.error_code ? describeErrorCode(summary.error_code) : null;
  const note = statusNote(summary.status);
  const curl = curlCommand(summary, detail);
  const versionLink =
    summary.endpoint_id && summary.policy_version !== null ? (
      <Anchor component={Link} to={paths.endpointVersions(summary.endpoint_id)}>
        version {summary.policy_version}
      </Anchor>
    ) : null;

  return (
    <Stack gap="md" data-testid="request-log-details">
      <Group gap="xs">
        <Badge color={statusColor(summary.status)} variant="light" size="lg" tt="none">
          {summary.status}
          {note ? ` ${note}` : ''}
        </Badge>
        <Text ff="monospace" fw={600}>
          {summary.method} {summary.path}
          {summary.query ? `?${summary.query}` : ''}
        </Text>
      </Group>

      <Stack gap={4}>
        <Title order={3} size="h5">
          Decision
        </Title>
        {decision ? (
          <Text component="div" size="sm" data-testid="request-log-decision">
            Rule {decision.rule_index + 1}
            {decision.rule_name ? ` “${decision.rule_name}”` : ''} of <Code>{decision.phase}</Code> ran{' '}
            <Badge variant="light" tt="none">
              {decision.action}
            </Badge>
            {versionLink ? <> in policy {versionLink}</> : null}.
          </Text>
        ) : (
          <Text size="sm" c="dimmed" data-testid="request-log-decision">
            No rule answered{summary.forwarded_to ? `; the request was forwarded to ${summary.forwarded_to}` : ''}.
          </Text>
        )}
        {decision && expressions !== null ? (
          <Stack gap={4} data-testid="request-log-rule-expression">
            {expressions.length === 0 ? (
              <Text size="sm" c="dimmed">
                The rule has no expressions: it applies to every request.
              </Text>
            ) : (
              <>
                <Text size="sm" c="dimmed">
                  {expressions.length === 1 ? 'Its expression' : 'Its expressions (all must be true)'}
                </Text>
                {expressions.map((expression) => (
                  <Code block key={expression}>
                    {expression}
                  </Code>
                ))}
              </>
            )}
            {findings.map((finding) => (
              <Text size="sm" key={finding.category} data-testid="request-log-category-finding">
                <Code>{summary.client_ip}</Code> is {finding.inside ? 'in' : 'not in'} the IP category{' '}
                <Code>{finding.category}</Code>
                {finding.inside
                  ? '.'
                  : summary.client_ip_categories.length > 0
                    ? ` (its categories: ${summary.client_ip_categories.join(', ')}).`
                    : ' (it is in no category).'}
              </Text>
            ))}
          </Stack>
        ) : null}
        {errorDescription ? (
          <Text
            component="div"
            size="sm"
            c={errorDescription.kind === 'gateway' ? 'red' : undefined}
            data-testid="request-log-outcome"
          >
            {errorDescription.kind === 'policy' ? (
              <Badge color={statusColor(summary.status)} variant="light" tt="none" mr={6}>
                {errorDescription.title}
              </Badge>
            ) : (
              `${errorDescription.title} `
            )}
            <Code>{summary.error_code}</Code>
            {errorDescription.reason ? ` — ${errorDescription.reason}` : ''}
          </Text>
        ) : null}
      </Stack>

      <Stack gap={4}>
        <Title order={3} size="h5">
          Trace
        </Title>
        {detail ? (
          detail.trace.length === 0 ? (
            <Text size="sm" c="dimmed">
              No rule was evaluated.
            </Text>
          ) : (
            <Table withTableBorder verticalSpacing={4} fz="sm" data-testid="request-log-trace">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Rule</Table.Th>
                  <Table.Th>Matched</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {detail.trace.map((trace) => (
                  <Table.Tr key={`${trace.endpoint_id}-${trace.phase}-${trace.rule_index}`}>
                    <Table.Td>
                      <Text size="sm">{ruleLabel(trace)}</Text>
                      {trace.endpoint_id !== summary.endpoint_id ? (
                        <Text size="xs" c="dimmed">
                          internal endpoint {trace.endpoint_id}
                        </Text>
                      ) : null}
                      {trace.error ? (
                        <Text size="xs" c="red">
                          {trace.error}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>{trace.matched ? 'yes' : 'no'}</Table.Td>
                    <Table.Td>
                      <Stack gap={2}>
                        {trace.actions.map((action, index) => (
                          <Text size="xs" key={`${action.type}-${index}`}>
                            <Code>{action.type}</Code> {action.result}
                            {action.detail ? ` — ${action.detail}` : ''}
                          </Text>
                        ))}
                      </Stack>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )
        ) : (
          <Group gap="xs">
            <Loader size="xs" />
            <Text size="sm" c="dimmed">
              Loading the trace… Matched: {summary.rules_matched.map(ruleLabel).join(', ') || 'none'}
            </Text>
          </Group>
        )}
        {detail && detail.runtime_errors.length > 0 ? (
          <Stack gap={2}>
            {detail.runtime_errors.map((runtimeError) => (
              <Text size="xs" c="red" key={`${runtimeError.expression}-${runtimeError.message}`}>
                <Code>{runtimeError.expression}</Code>: {runtimeError.message}
              </Text>
            ))}
          </Stack>
        ) : null}
      </Stack>

      <Stack gap={4}>
        <Group justify="space-between">
          <Title order={3} size="h5">
            Send it again
          </Title>
          <Group gap="xs">
            {summary.endpoint_id !== null ? (
              <Button
                size="xs"
                variant="default"
                leftSection={<IconTestPipe size={14} />}
                onClick={() => {
                  // The policy editor appends the case to its Tests panel (unsaved until the policy is saved).
                  void navigate(paths.endpointPolicy(summary.endpoint_id!), {
                    state: { addTest: testCaseFromRequestLog(summary, detail) },
                  });
                }}
              >
                Add as test
              </Button>
            ) : null}
            <CopyButton value={curl}>
              {({ copied, copy }) => (
                <Button
                  size="xs"
                  variant="default"
                  leftSection={copied ? <IconCheck size={14} /> : <IconCopy size={14} />}
                  onClick={copy}
                >
                  {copied ? 'Copied' : 'Copy as curl'}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Group>
        <Code block data-testid="request-log-curl" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
          {curl}
        </Code>
      </Stack>

      <Divider />
      <Table verticalSpacing={4} fz="sm">
        <Table.Tbody>
          <DetailRow label="Time">{formatAbsoluteTime(summary.timestamp)}</DetailRow>
          <DetailRow label="Endpoint">
            {summary.endpoint_id ? (
              <Anchor component={Link} to={paths.endpoint(summary.endpoint_id)} ff="monospace" size="sm">
                {summary.endpoint_url ?? summary.endpoint_id}
              </Anchor>
            ) : (
              <Text size="sm">{summary.host} (no endpoint)</Text>
            )}
          </DetailRow>
          <DetailRow label="Client IP">
            <Group gap={4}>
              <Text size="sm" ff="monospace">
                {summary.client_ip}
              </Text>
              {summary.client_ip_categories.map((category) => (
                <Badge key={category} size="xs" variant="outline" tt="none">
                  {category}
                </Badge>
              ))}
            </Group>
          </DetailRow>
          <DetailRow label="Caller">
            {summary.caller ? (
              <CallerFacts caller={summary.caller} />
            ) : (
              <Text size="sm" c="dimmed">
                not identified (no authentication or rate-limit key)
              </Text>
            )}
          </DetailRow>
          {summary.forwarded_to ? <DetailRow label="Forwarded to">{summary.forwarded_to}</DetailRow> : null}
          <DetailRow label="Duration">
            {summary.duration_ms.toFixed(1)} ms
            {summary.upstream_duration_ms !== null ? ` (upstream ${summary.upstream_duration_ms.toFixed(1)} ms)` : ''}
          </DetailRow>
          <DetailRow label="Bytes">
            {summary.bytes_in} in, {summary.bytes_out} out
          </DetailRow>
          {summary.mcp ? (
            <DetailRow label="MCP">
              <Code>{summary.mcp.method}</Code>
              {summary.mcp.tool ? (
                <>
                  {' '}
                  tool <Code>{summary.mcp.tool}</Code>
                </>
              ) : null}
            </DetailRow>
          ) : null}
          {summary.ai_gateway ? (
            <DetailRow label="AI gateway">
              <AiGatewayFactsView ai={summary.ai_gateway} />
            </DetailRow>
          ) : null}
          {summary.user_agent ? <DetailRow label="User agent">{summary.user_agent}</DetailRow> : null}
          {summary.trace_id ? <DetailRow label="Trace id">{summary.trace_id}</DetailRow> : null}
          <DetailRow label="Request id">
            <Text size="sm" ff="monospace">
              {summary.id}
            </Text>
          </DetailRow>
        </Table.Tbody>
      </Table>
      {summary.logs.length > 0 ? (
        <Stack gap={4}>
          <Title order={3} size="h5">
            Policy logs
          </Title>
          <Code block>{JSON.stringify(summary.logs, null, 2)}</Code>
        </Stack>
      ) : null}
      {detail?.request_headers ? (
        <Stack gap={4}>
          <Title order={3} size="h5">
            Request headers
          </Title>
          <Code block>{JSON.stringify(detail.request_headers, null, 2)}</Code>
        </Stack>
      ) : null}
      {detail?.response_headers ? (
        <Stack gap={4}>
          <Title order={3} size="h5">
            Response headers
          </Title>
          <Code block>{JSON.stringify(detail.response_headers, null, 2)}</Code>
        </Stack>
      ) : null}
      {detail?.request_body ? (
        <Stack gap={4}>
          <Title order={3} size="h5">
            Request body
          </Title>
          <BodyBlock body={detail.request_body} />
        </Stack>
      ) : null}
      {detail?.response_body ? (
        <Stack gap={4}>
          <Title order={3} size="h5">
            Response body
          </Title>
          <BodyBlock body={detail.response_body} />
        </Stack>
      ) : null}
    </Stack>
  );
}
