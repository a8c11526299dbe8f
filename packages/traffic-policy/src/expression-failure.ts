import type { CompiledExpression } from './cel-environment.js';
import type { PolicyContext } from './context.js';
import { describeError } from './error-text.js';

/**
 * A CEL expression (rule expression, `rate-limit` bucket key or `${}` interpolation) that failed at runtime. Thrown
 * from deep inside an action's template rendering and caught by the evaluator, which turns it into the
 * POLICY_RUNTIME_ERROR response: a policy that cannot be evaluated fails closed instead of letting the request through
 * (a deny rule that throws must never count as "did not match").
 */
export class ExpressionFailure extends Error {
  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`${expression}: ${reason}`);
    this.name = 'ExpressionFailure';
  }
}

/** Evaluates `expression`; a failure is recorded on the request (for the request log) and thrown as ExpressionFailure. */
export function evaluateOrFail(expression: CompiledExpression, context: PolicyContext): unknown {
  try {
    return expression.evaluate(context);
  } catch (error) {
    throw failure(expression.source, error, context);
  }
}

/** Records `error` of `source` on the request and returns the ExpressionFailure to throw. */
export function failure(source: string, error: unknown, context: PolicyContext): ExpressionFailure {
  context.recordRuntimeError(source, error);
  return new ExpressionFailure(source, describeError(error));
}
