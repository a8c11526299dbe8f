import { Alert, Text } from '@mantine/core';
import { describeError } from '../api/request-client';
import type { UnplacedProblem } from './use-api-form';

/** What a refusal said that no field of the form could show, with the details that name no field. */
export function ServerErrorAlert({ problem, title }: { problem: UnplacedProblem | null; title?: string }) {
  if (!problem) return null;
  return (
    <Alert color="red" role="alert" title={title}>
      {describeError(problem.error)}
      {problem.details.map((detail) => (
        <Text key={`${detail.path}-${detail.message}`} size="sm">
          {detail.path ? `${detail.path}: ` : ''}
          {detail.message}
        </Text>
      ))}
    </Alert>
  );
}
