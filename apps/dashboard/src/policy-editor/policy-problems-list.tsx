import { Alert, Badge, Group, List, Text, UnstyledButton } from '@mantine/core';
import { IconAlertTriangle, IconCircleCheck, IconCircleX } from '@tabler/icons-react';
import type { PolicyIssueLike } from './policy-issue-markers';

export interface LabelledIssue extends PolicyIssueLike {
  source: 'browser' | 'server';
}

interface PolicyProblemsListProps {
  issues: readonly LabelledIssue[];
  pending: boolean;
  onSelect: (line: number, column: number) => void;
}

/** Every problem in the policy, each a button that moves the cursor to it. */
export function PolicyProblemsList({ issues, pending, onSelect }: PolicyProblemsListProps) {
  const errorCount = issues.filter((issue) => (issue.severity ?? 'error') === 'error').length;
  const warningCount = issues.length - errorCount;
  if (issues.length === 0) {
    return (
      <Group gap="xs" data-testid="policy-problems" data-state={pending ? 'checking' : 'valid'} role="status">
        <IconCircleCheck size={18} color="var(--mantine-color-green-7)" aria-hidden />
        <Text size="sm" c="dimmed">
          {pending ? 'Checking…' : 'No problems found. The policy is valid.'}
        </Text>
      </Group>
    );
  }
  return (
    <Alert
      data-testid="policy-problems"
      data-state="invalid"
      color={errorCount > 0 ? 'red' : 'yellow'}
      variant="light"
      title={`${errorCount} error${errorCount === 1 ? '' : 's'}, ${warningCount} warning${warningCount === 1 ? '' : 's'}`}
      role="status"
    >
      <List spacing={4} listStyleType="none" p={0}>
        {issues.map((issue, index) => {
          const isError = (issue.severity ?? 'error') === 'error';
          return (
            <List.Item key={`${issue.source}-${index}`} data-line={issue.line} data-code={issue.code}>
              <UnstyledButton
                onClick={() => onSelect(issue.line ?? 1, issue.column ?? 1)}
                title={`Go to line ${issue.line ?? 1}, column ${issue.column ?? 1}`}
              >
                <Group gap={6} wrap="nowrap" align="flex-start">
                  {isError ? (
                    <IconCircleX
                      size={16}
                      color="var(--mantine-color-red-7)"
                      aria-hidden
                      style={{ flexShrink: 0, marginTop: 2 }}
                    />
                  ) : (
                    <IconAlertTriangle
                      size={16}
                      color="var(--mantine-color-yellow-8)"
                      aria-hidden
                      style={{ flexShrink: 0, marginTop: 2 }}
                    />
                  )}
                  <Text size="sm" ff="monospace" style={{ flexShrink: 0 }}>
                    {issue.line ?? 1}:{issue.column ?? 1}
                  </Text>
                  <Text size="sm">{issue.message}</Text>
                  {issue.code ? (
                    <Badge size="xs" variant="outline" color="gray" style={{ flexShrink: 0 }}>
                      {issue.code}
                    </Badge>
                  ) : null}
                  {issue.source === 'server' ? (
                    <Badge size="xs" color="grape" style={{ flexShrink: 0 }}>
                      from server
                    </Badge>
                  ) : null}
                </Group>
              </UnstyledButton>
            </List.Item>
          );
        })}
      </List>
    </Alert>
  );
}
