import { analyzeAction } from './analyze-action.js';
import { analyzeExpressions } from './analyze-expressions.js';
import type { CompiledAction, CompiledRule } from './compiled-policy.js';
import type { Phase } from './context.js';
import { maxActionsPerRule, maxRuleNameLength } from './limits.js';
import { describeValue, frozenExactCopy, isPlainObject, type PolicyWalk } from './policy-walk.js';
import { suggest } from './suggestions.js';

const ruleKeys = new Set(['name', 'expressions', 'actions']);

export interface AnalyzedRule {
  readonly compiled: CompiledRule;
  /** No expressions and an action that always terminates: no later rule of the phase can run. */
  readonly endsPhase: boolean;
}

/**
 * Checks and compiles one rule: its fields, its expressions, its actions and which of them can be reached.
 * `terminatedAt` is the earlier rule that always ends the phase, if any. `undefined` when the rule has no usable
 * action list; every issue is on the walk.
 */
export function analyzeRule(
  walk: PolicyWalk,
  rule: unknown,
  rulePath: readonly [string, number],
  phase: Phase,
  terminatedAt: number | undefined,
): AnalyzedRule | undefined {
  if (!isPlainObject(rule)) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `Each rule is a map with actions (and optionally name and expressions); found ${describeValue(rule)}.`,
      rulePath,
    );
    return undefined;
  }
  // An action written straight under the phase (`- type: ai-gateway` with its config beside it), as some of ngrok's
  // own AI-gateway pages print it: one error that says where it goes, not one per stray field.
  if (typeof rule.type === 'string' && rule.actions === undefined) {
    walk.report(
      'POLICY_UNKNOWN_FIELD',
      `This rule is written as an action ("type: ${rule.type.slice(0, 40)}"); a rule has name, expressions and actions, so nest the action in the rule's actions list: "- actions: [{ type: ${rule.type.slice(0, 40)}, config: … }]".`,
      [...rulePath, 'type'],
      'error',
      'key',
    );
    return undefined;
  }
  for (const ruleKey of Object.keys(rule)) {
    if (!ruleKeys.has(ruleKey)) {
      walk.report(
        'POLICY_UNKNOWN_FIELD',
        `"${ruleKey}" is not a rule field; a rule has name, expressions and actions.${suggest(ruleKey, [...ruleKeys])}`,
        [...rulePath, ruleKey],
        'error',
        'key',
      );
    }
  }
  if (terminatedAt !== undefined) {
    walk.report(
      'POLICY_UNREACHABLE_RULE',
      `This rule never runs: rule ${terminatedAt} always ends ${phase} before it.`,
      rulePath,
      'warning',
    );
  }
  const name = rule.name;
  if (name !== undefined && (typeof name !== 'string' || name.length > maxRuleNameLength)) {
    walk.report('POLICY_SCHEMA_INVALID', `name must be a string of at most ${maxRuleNameLength} characters.`, [
      ...rulePath,
      'name',
    ]);
  }
  const rawExpressions: unknown = rule.expressions ?? [];
  const conditional = !Array.isArray(rawExpressions) || rawExpressions.length > 0;
  const expressions = analyzeExpressions(walk, rawExpressions, [...rulePath, 'expressions'], phase);
  // An action's `${}` and bucket keys run only when the rule's expressions are true: those guard them.
  walk.ruleGuards = Array.isArray(rawExpressions)
    ? rawExpressions.filter((text) => typeof text === 'string').join('\n')
    : '';
  const actions = analyzeActions(walk, rule.actions, rulePath, phase);
  walk.ruleGuards = '';
  if (actions === undefined) return undefined;
  return {
    compiled: Object.freeze({
      index: rulePath[1],
      name: typeof name === 'string' ? name : null,
      expressions: frozenExactCopy(expressions),
      actions: frozenExactCopy(actions.compiled),
    }),
    endsPhase: actions.alwaysTerminates && !conditional,
  };
}

/** The rule's compiled actions, and whether one of them always ends the phase; `undefined` without an action list. */
function analyzeActions(
  walk: PolicyWalk,
  rawActions: unknown,
  rulePath: readonly [string, number],
  phase: Phase,
): { compiled: CompiledAction[]; alwaysTerminates: boolean } | undefined {
  const path = [...rulePath, 'actions'];
  if (rawActions === undefined) {
    walk.report('POLICY_SCHEMA_INVALID', 'A rule needs actions: a list of at least one action.', rulePath);
    return undefined;
  }
  if (!Array.isArray(rawActions)) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `actions must be a list (start each action with "- "), but ${isPlainObject(rawActions) ? 'a map' : describeValue(rawActions)} was found.`,
      path,
    );
    return undefined;
  }
  if (rawActions.length === 0) {
    walk.report('POLICY_SCHEMA_INVALID', 'actions is empty: a rule needs at least one action.', path);
    return undefined;
  }
  if (rawActions.length > maxActionsPerRule) {
    walk.report('POLICY_TOO_LARGE', `A rule may have at most ${maxActionsPerRule} actions.`, path);
    return undefined;
  }
  const compiled: CompiledAction[] = [];
  let terminatorIndex: number | undefined;
  rawActions.forEach((action: unknown, actionIndex) => {
    const actionPath = [...path, actionIndex];
    if (terminatorIndex !== undefined) {
      walk.report(
        'POLICY_UNREACHABLE_ACTION',
        `This action never runs: action ${terminatorIndex} of this rule always ends ${phase}.`,
        actionPath,
      );
    }
    const analyzed = analyzeAction(walk, action, actionPath, phase, `${phase}/${rulePath[1]}/${actionIndex}`);
    if (analyzed === undefined) return;
    compiled.push(analyzed.compiled);
    if (analyzed.alwaysTerminates) terminatorIndex ??= actionIndex;
  });
  return { compiled, alwaysTerminates: terminatorIndex !== undefined };
}
