import { Alert, Badge, Group, Loader, Paper, Stack, Text, Textarea } from '@mantine/core';
import type { PolicyTestCaseResult } from '@gatehouse/contracts';
import type { PolicyTestsState } from './use-policy-tests';

const placeholder = `- name: admin is blocked
  request: { method: GET, path: /admin, headers: { authorization: Bearer x } }
  expect: { status: 403, decision: { rule: block admin, action: deny } }
- name: ten per minute
  request: { path: /api/items, client_ip: 203.0.113.7 }
  expect: { rate_limited_after: 10 }`;

/**
 * The policy's test cases as YAML (README: Testing a policy) and their result against the text in the editor, run in
 * the browser after each pause in typing. Saved with the next version.
 */
export function PolicyTestsPanel({
  testsText,
  onChange,
  state,
  readOnly,
}: {
  testsText: string;
  onChange: (text: string) => void;
  state: PolicyTestsState;
  readOnly: boolean;
}) {
  const { parsed, report, policyProblem, pending } = state;
  return (
    <Paper withBorder p="sm" data-testid="policy-tests-panel">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>Tests</Text>
          <Group gap="xs">
            {pending ? <Loader size="xs" aria-label="Running tests" /> : null}
            {report ? (
              <>
                <Badge color="green" variant="light" data-testid="tests-passed">
                  {report.passed} passed
                </Badge>
                <Badge color={report.failed > 0 ? 'red' : 'gray'} variant="light" data-testid="tests-failed">
                  {report.failed} failed
                </Badge>
              </>
            ) : null}
          </Group>
        </Group>
        <Textarea
          aria-label="Test cases (YAML)"
          description="A YAML list of cases: a request and what must happen to it. Each runs with fresh rate-limit counters and a fixed clock; forwarded requests get 200 from a stand-in upstream."
          placeholder={placeholder}
          value={testsText}
          onChange={(event) => onChange(event.currentTarget.value)}
          readOnly={readOnly}
          autosize
          minRows={4}
          maxRows={20}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
        />
        {parsed.problems.length > 0 ? (
          <Alert color="red" variant="light" title="The tests cannot be read" data-testid="tests-problems">
            {parsed.problems.map((problem) => (
              <Text key={problem} size="sm">
                {problem}
              </Text>
            ))}
          </Alert>
        ) : null}
        {policyProblem ? (
          <Text size="sm" c="dimmed">
            {policyProblem}
          </Text>
        ) : null}
        {report?.results.map((result) => (
          <CaseResult key={result.name} result={result} />
        ))}
      </Stack>
    </Paper>
  );
}

function CaseResult({ result }: { result: PolicyTestCaseResult }) {
  return (
    <Stack gap={2} data-testid="test-case-result">
      <Group gap="xs">
        <Badge color={result.passed ? 'green' : 'red'} variant="filled" size="sm">
          {result.passed ? 'PASS' : 'FAIL'}
        </Badge>
        <Text size="sm">{result.name}</Text>
      </Group>
      {result.mismatches.map((mismatch) => (
        <Text key={mismatch.field} size="xs" ff="monospace" pl="xl">
          {mismatch.field}: expected{' '}
          <Text span c="green" inherit>
            {mismatch.expected}
          </Text>
          , got{' '}
          <Text span c="red" inherit>
            {mismatch.actual}
          </Text>
        </Text>
      ))}
    </Stack>
  );
}
