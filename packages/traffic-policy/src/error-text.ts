/**
 * The message to show for a failed CEL evaluation: a cel-js error's short `summary` when it has one, else the error's
 * message. Its own module so that the request context and the evaluator's ExpressionFailure can both use it without
 * importing each other (no cycles, type-only ones included).
 */
export function describeError(error: unknown): string {
  const summary = (error as { summary?: unknown } | undefined)?.summary;
  if (typeof summary === 'string') return summary;
  return error instanceof Error ? error.message : String(error);
}
