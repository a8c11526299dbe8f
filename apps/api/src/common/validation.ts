import { StandardSchemaValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';

/**
 * Validates every `@Body({ schema })`, `@Query({ schema })` and `@Param(name, { schema })` with its zod schema and
 * reports each issue as a detail of one VALIDATION_FAILED error.
 */
export function createValidationPipe(): StandardSchemaValidationPipe {
  return new StandardSchemaValidationPipe({
    exceptionFactory: (issues) =>
      new AppError(
        ErrorCode.VALIDATION_FAILED,
        'The request is invalid',
        issues.map((issue) => ({
          message: issue.message,
          path: (issue.path ?? [])
            .map((segment) => (typeof segment === 'object' ? String(segment.key) : String(segment)))
            .join('.'),
        })),
      ),
  });
}
