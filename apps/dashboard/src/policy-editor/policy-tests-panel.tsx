import { Alert, Badge, Group, Loader, Paper, Stack, Text } from '@mantine/core';
import type { PolicyTestCaseResult } from '@gatehouse/contracts';
import { PolicyTestsCodeEditor } from './policy-tests-code-editor';
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
  modelName = 'policy',
}: {
  /** Names the tests' Monaco model (the endpoint's id on the policy page). */
  modelName?: string;
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
            {pending ? <Loader size="xs" role="progressbar" aria-label="Running tests" /> : null}
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
        <Text size="xs" c="dimmed">
          A YAML list of cases: a request and what must happen to it. Each runs with fresh rate-limit counters and a
          fixed clock; forwarded requests get 200 from a stand-in upstream. Ctrl+Space suggests fields.
        </Text>
        <PolicyTestsCodeEditor
          modelName={modelName}
          value={testsText}
          onChange={onChange}
          readOnly={readOnly}
          placeholder={placeholder}
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
        {/* Light, not filled: white on Mantine's green fails the 4.5:1 contrast at this size. */}
        <Badge color={result.passed ? 'green' : 'red'} variant="light" size="sm">
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
