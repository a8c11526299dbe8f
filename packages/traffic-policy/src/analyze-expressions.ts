import { compileExpression, type CompiledExpression } from './cel-environment.js';
import type { Phase } from './context.js';
import { maxExpressionLength, maxExpressionsPerRule } from './limits.js';
import type { DocumentPath } from './parse.js';
import { describeValue, type PolicyWalk } from './policy-walk.js';

/**
 * Checks and compiles a rule's `expressions`: a list of CEL strings within the size limits, each valid in this phase
 * and of type bool (or dyn, checked per request). Returns the ones that compiled; every issue is on the walk.
 */
export function analyzeExpressions(
  walk: PolicyWalk,
  rawExpressions: unknown,
  path: DocumentPath,
  phase: Phase,
): CompiledExpression[] {
  const expressions: CompiledExpression[] = [];
  if (!Array.isArray(rawExpressions)) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `expressions must be a list of CEL strings (start each with "- "), but ${describeValue(rawExpressions)} was found.`,
      path,
    );
    return expressions;
  }
  if (rawExpressions.length > maxExpressionsPerRule) {
    walk.report('POLICY_TOO_LARGE', `A rule may have at most ${maxExpressionsPerRule} expressions.`, path);
    return expressions;
  }
  rawExpressions.forEach((source: unknown, expressionIndex) => {
    const expressionPath = [...path, expressionIndex];
    if (typeof source !== 'string' || source.trim() === '') {
      walk.report(
        'POLICY_SCHEMA_INVALID',
        `An expression must be a non-empty string of CEL; found ${describeValue(source)}.`,
        expressionPath,
      );
      return;
    }
    if (source.length > maxExpressionLength) {
      walk.report(
        'POLICY_TOO_LARGE',
        `An expression may be at most ${maxExpressionLength} characters long; this one has ${source.length}.`,
        expressionPath,
      );
      return;
    }
    const check = compileExpression(source, phase);
    if (!check.ok) {
      walk.reportInvalidExpression(expressionPath, check);
      return;
    }
    if (check.expression.type !== 'bool' && check.expression.type !== 'dyn') {
      walk.report(
        'POLICY_EXPRESSION_NOT_BOOL',
        `A rule expression must be a bool; this one is a ${check.expression.type}.`,
        expressionPath,
      );
      return;
    }
    walk.noteSource(source);
    walk.noteSecretReferences(check.expression.secretReferences, expressionPath);
    // The expressions before this one (and this one) must be true for it to run: they are its guards.
    const guards = rawExpressions.slice(0, expressionIndex + 1).filter((text) => typeof text === 'string');
    walk.warnAbsentKeys(source, expressionPath, guards.join('\n'));
    expressions.push(check.expression);
  });
  return expressions;
}
