import type { z } from 'zod';
import type { ActionCompileContext, ActionRunner, AnyAction, ParsedActionConfig } from './action.js';
import { actionsByType } from './actions/registry.js';
import { compileExpression, type CompiledExpression } from './cel-environment.js';
import type { Phase } from './context.js';
import type { IssueSeverity, PolicyIssue, ValidationErrorCode } from './errors.js';
import { compileTemplate, staticTemplate, type CompiledTemplate } from './interpolation.js';
import { formatPath, parse, type DocumentPath, type ParsedPolicy } from './parse.js';
import {
  maxActionsPerRule,
  maxExpressionLength,
  maxExpressionsPerRule,
  maxRuleNameLength,
  maxRulesPerPhase,
} from './limits.js';
import { legacyPhaseKeys, phaseKeys } from './schema.js';

export type EndpointType = 'cloud' | 'internal';

export interface PolicyOptions {
  endpointType: EndpointType;
  /** Registered internal endpoint URLs (normalized); when given, unknown forward-internal targets become warnings. */
  internalEndpointUrls?: ReadonlySet<string>;
}

export interface CompiledAction {
  readonly type: string;
  readonly run: ActionRunner;
}

export interface CompiledRule {
  readonly index: number;
  readonly name: string | null;
  readonly expressions: readonly CompiledExpression[];
  readonly actions: readonly CompiledAction[];
}

/** A policy ready for requests: every expression checked and compiled, every config parsed. Immutable. */
export interface CompiledPolicy {
  readonly endpointType: EndpointType;
  readonly phases: Readonly<Record<Phase, readonly CompiledRule[]>>;
  /** The data plane buffers the request body only when an action needs it. */
  readonly needsRequestBody: boolean;
  /** Some expression or template reads `mcp.*`, so the data plane should detect MCP calls in bodies too. */
  readonly readsMcp: boolean;
}

export interface PolicyAnalysis {
  policy: CompiledPolicy | undefined;
  issues: PolicyIssue[];
}

const ruleKeys = new Set(['name', 'expressions', 'actions']);
const actionKeys = new Set(['type', 'config']);
const allPhaseKeys = [...phaseKeys, ...Object.keys(legacyPhaseKeys)];
const phaseNames: Record<Phase, string> = {
  on_tcp_connect: 'on_tcp_connect',
  on_http_request: 'on_http_request',
  on_http_response: 'on_http_response',
};
const terminatingActionsHelp =
  'deny, custom-response, redirect (without from), forward-internal (on_error: halt) or close-connection';

/**
 * Validates and compiles in one pass, so what is checked is exactly what runs. Collects every issue instead of
 * stopping at the first; a policy is produced only when there is no error. Never throws.
 */
export function analyzePolicy(parsed: ParsedPolicy, options: PolicyOptions): PolicyAnalysis {
  const issues: PolicyIssue[] = [...parsed.issues];
  if (issues.some((issue) => issue.severity === 'error')) return { policy: undefined, issues };

  const report = (
    code: ValidationErrorCode,
    message: string,
    path: DocumentPath,
    severity: IssueSeverity = 'error',
    target: 'key' | 'value' = 'value',
  ) => {
    issues.push({ code, message, path: formatPath(path), ...parsed.locate(path, target), severity });
  };

  const document = parsed.document ?? {};
  if (!isPlainObject(document)) {
    report(
      'POLICY_SCHEMA_INVALID',
      `A policy is a map of phases (on_http_request, on_http_response, on_tcp_connect); found ${describeValue(document)}.`,
      [],
    );
    return { policy: undefined, issues };
  }

  const compiledPhases: Record<Phase, CompiledRule[]> = {
    on_tcp_connect: [],
    on_http_request: [],
    on_http_response: [],
  };
  const seenPhases = new Map<Phase, string>();
  let authenticationActions = 0;
  let needsRequestBody = false;
  let readsMcp = false;

  for (const [key, rules] of Object.entries(document)) {
    const phase = (key in legacyPhaseKeys ? legacyPhaseKeys[key as keyof typeof legacyPhaseKeys] : key) as Phase;
    if (!(phaseKeys as readonly string[]).includes(phase)) {
      report(
        'POLICY_UNKNOWN_FIELD',
        `"${key}" is not a phase; use one of ${phaseKeys.join(', ')}.${suggest(key, allPhaseKeys)}`,
        [key],
        'error',
        'key',
      );
      continue;
    }
    if (phase !== key) {
      report('POLICY_DEPRECATED_PHASE_NAME', `"${key}" is a deprecated name; write ${phase}.`, [key], 'warning', 'key');
    }
    const previousKey = seenPhases.get(phase);
    if (previousKey !== undefined) {
      report(
        'POLICY_SCHEMA_INVALID',
        `"${key}" and "${previousKey}" both define ${phase}; keep one.`,
        [key],
        'error',
        'key',
      );
      continue;
    }
    seenPhases.set(phase, key);
    if (phase === 'on_tcp_connect' && options.endpointType === 'internal') {
      report(
        'POLICY_PHASE_NOT_ALLOWED',
        'on_tcp_connect never runs on an internal endpoint: traffic reaches it through forward-internal, without a new connection.',
        [key],
        'error',
        'key',
      );
      continue;
    }
    const mustTerminate = phase === 'on_http_request' && options.endpointType === 'cloud';
    const reportEmptyPhase = () =>
      report(
        'POLICY_NOT_TERMINATING',
        `${key} has no rules: a cloud endpoint must end it with a rule without expressions that runs ${terminatingActionsHelp}.`,
        [key],
        'error',
        'key',
      );
    if (rules === null || rules === undefined) {
      if (mustTerminate) reportEmptyPhase();
      continue;
    }
    if (!Array.isArray(rules)) {
      const found = isPlainObject(rules) ? 'a map' : describeValue(rules);
      report(
        'POLICY_SCHEMA_INVALID',
        `${key} must be a list of rules (start each rule with "- "), but ${found} was found.`,
        [key],
      );
      continue;
    }
    if (rules.length > maxRulesPerPhase) {
      report('POLICY_TOO_LARGE', `${key} has ${rules.length} rules; the limit is ${maxRulesPerPhase}.`, [key]);
      continue;
    }

    let terminatedAt: number | undefined;
    rules.forEach((rule: unknown, ruleIndex) => {
      const rulePath = [key, ruleIndex];
      if (!isPlainObject(rule)) {
        report(
          'POLICY_SCHEMA_INVALID',
          `Each rule is a map with actions (and optionally name and expressions); found ${describeValue(rule)}.`,
          rulePath,
        );
        return;
      }
      for (const ruleKey of Object.keys(rule)) {
        if (!ruleKeys.has(ruleKey)) {
          report(
            'POLICY_UNKNOWN_FIELD',
            `"${ruleKey}" is not a rule field; a rule has name, expressions and actions.${suggest(ruleKey, [...ruleKeys])}`,
            [...rulePath, ruleKey],
            'error',
            'key',
          );
        }
      }
      if (terminatedAt !== undefined) {
        report(
          'POLICY_UNREACHABLE_RULE',
          `This rule never runs: rule ${terminatedAt} always ends ${phaseNames[phase]} before it.`,
          rulePath,
          'warning',
        );
      }
      const name = rule.name;
      if (name !== undefined && (typeof name !== 'string' || name.length > maxRuleNameLength)) {
        report('POLICY_SCHEMA_INVALID', `name must be a string of at most ${maxRuleNameLength} characters.`, [
          ...rulePath,
          'name',
        ]);
      }

      // Expressions
      const expressions: CompiledExpression[] = [];
      const rawExpressions: unknown = rule.expressions ?? [];
      const conditional = !Array.isArray(rawExpressions) || rawExpressions.length > 0;
      if (!Array.isArray(rawExpressions)) {
        report(
          'POLICY_SCHEMA_INVALID',
          `expressions must be a list of CEL strings (start each with "- "), but ${describeValue(rawExpressions)} was found.`,
          [...rulePath, 'expressions'],
        );
      } else if (rawExpressions.length > maxExpressionsPerRule) {
        report('POLICY_TOO_LARGE', `A rule may have at most ${maxExpressionsPerRule} expressions.`, [
          ...rulePath,
          'expressions',
        ]);
      } else {
        rawExpressions.forEach((source: unknown, expressionIndex) => {
          const path = [...rulePath, 'expressions', expressionIndex];
          if (typeof source !== 'string' || source.trim() === '') {
            report(
              'POLICY_SCHEMA_INVALID',
              `An expression must be a non-empty string of CEL; found ${describeValue(source)}.`,
              path,
            );
            return;
          }
          if (source.length > maxExpressionLength) {
            report(
              'POLICY_TOO_LARGE',
              `An expression may be at most ${maxExpressionLength} characters long; this one has ${source.length}.`,
              path,
            );
            return;
          }
          const check = compileExpression(source, phase);
          if (!check.ok) {
            issues.push(invalidExpressionIssue(parsed, path, check));
            return;
          }
          if (check.expression.type !== 'bool' && check.expression.type !== 'dyn') {
            report(
              'POLICY_EXPRESSION_NOT_BOOL',
              `A rule expression must be a bool; this one is a ${check.expression.type}.`,
              path,
            );
            return;
          }
          readsMcp ||= /\bmcp\./.test(source);
          expressions.push(check.expression);
        });
      }

      // Actions
      const actions: CompiledAction[] = [];
      const rawActions = rule.actions;
      if (rawActions === undefined) {
        report('POLICY_SCHEMA_INVALID', 'A rule needs actions: a list of at least one action.', rulePath);
        return;
      }
      if (!Array.isArray(rawActions)) {
        report(
          'POLICY_SCHEMA_INVALID',
          `actions must be a list (start each action with "- "), but ${isPlainObject(rawActions) ? 'a map' : describeValue(rawActions)} was found.`,
          [...rulePath, 'actions'],
        );
        return;
      }
      if (rawActions.length === 0) {
        report('POLICY_SCHEMA_INVALID', 'actions is empty: a rule needs at least one action.', [
          ...rulePath,
          'actions',
        ]);
        return;
      }
      if (rawActions.length > maxActionsPerRule) {
        report('POLICY_TOO_LARGE', `A rule may have at most ${maxActionsPerRule} actions.`, [...rulePath, 'actions']);
        return;
      }
      let ruleTerminates = false;
      let terminatorIndex: number | undefined;
      rawActions.forEach((action: unknown, actionIndex) => {
        const actionPath = [...rulePath, 'actions', actionIndex];
        if (terminatorIndex !== undefined) {
          report(
            'POLICY_UNREACHABLE_ACTION',
            `This action never runs: action ${terminatorIndex} of this rule always ends ${phaseNames[phase]}.`,
            actionPath,
          );
        }
        const definition = checkActionShape(action, actionPath, phase, report);
        if (definition === undefined) return;
        const { type, config: rawConfig } = action as { type: string; config?: unknown };
        if (definition.isAuthentication === true && ++authenticationActions > 1) {
          report(
            'POLICY_MULTIPLE_AUTH_ACTIONS',
            `A policy may have one authentication action (basic-auth, jwt-validation, oauth, openid-connect); ${type} is another.`,
            [...actionPath, 'type'],
          );
        }
        const config = parseConfig(definition, rawConfig, [...actionPath, 'config'], report);
        if (config === undefined) return;
        const context = new ActionCompilation(
          parsed,
          issues,
          phase,
          options.endpointType,
          options.internalEndpointUrls,
          [...actionPath, 'config'],
          `${phase}/${ruleIndex}/${actionIndex}`,
          () => (readsMcp = true),
        );
        const run = config.compile(context);
        context.release();
        needsRequestBody ||= config.needsRequestBody;
        actions.push(Object.freeze({ type, run }));
        if (config.alwaysTerminates) {
          terminatorIndex ??= actionIndex;
          ruleTerminates = true;
        }
      });
      if (ruleTerminates && !conditional) terminatedAt ??= ruleIndex;
      compiledPhases[phase].push(
        Object.freeze({
          index: ruleIndex,
          name: typeof name === 'string' ? name : null,
          expressions: frozenExactCopy(expressions),
          actions: frozenExactCopy(actions),
        }),
      );
    });

    if (mustTerminate && terminatedAt === undefined && rules.length === 0) reportEmptyPhase();
    else if (mustTerminate && terminatedAt === undefined) {
      const lastIndex = rules.length - 1;
      const lastRule: unknown = rules[lastIndex];
      const lastName = isPlainObject(lastRule) && typeof lastRule.name === 'string' ? ` ("${lastRule.name}")` : '';
      report(
        'POLICY_NOT_TERMINATING',
        `A cloud endpoint must end on_http_request with a rule that has no expressions and ends in ${terminatingActionsHelp}; the last rule${lastName} does not, so some requests would have nowhere to go.`,
        [key, lastIndex],
      );
    }
  }

  if (options.endpointType === 'cloud' && !seenPhases.has('on_http_request')) {
    const empty = Object.keys(document).length === 0;
    report(
      'POLICY_NOT_TERMINATING',
      `A cloud endpoint's policy must have on_http_request ending in a rule without expressions that runs ${terminatingActionsHelp}${empty ? '; this policy is empty' : ''}.`,
      [],
    );
  }

  if (issues.some((issue) => issue.severity === 'error')) return { policy: undefined, issues };
  const policy: CompiledPolicy = Object.freeze({
    endpointType: options.endpointType,
    phases: Object.freeze({
      on_tcp_connect: frozenExactCopy(compiledPhases.on_tcp_connect),
      on_http_request: frozenExactCopy(compiledPhases.on_http_request),
      on_http_response: frozenExactCopy(compiledPhases.on_http_response),
    }),
    needsRequestBody,
    readsMcp,
  });
  return { policy, issues };
}

type Report = (
  code: ValidationErrorCode,
  message: string,
  path: DocumentPath,
  severity?: IssueSeverity,
  target?: 'key' | 'value',
) => void;

function checkActionShape(action: unknown, path: DocumentPath, phase: Phase, report: Report): AnyAction | undefined {
  if (!isPlainObject(action)) {
    report('POLICY_SCHEMA_INVALID', `An action is a map with type and config; found ${describeValue(action)}.`, path);
    return undefined;
  }
  for (const key of Object.keys(action)) {
    if (!actionKeys.has(key)) {
      report(
        'POLICY_UNKNOWN_FIELD',
        `"${key}" is not an action field; an action has type and config.${key === 'with' || key === 'params' ? ' Put settings under config.' : ''}`,
        [...path, key],
        'error',
        'key',
      );
    }
  }
  const type = action.type;
  if (typeof type !== 'string' || type === '') {
    report('POLICY_SCHEMA_INVALID', 'An action needs a type, e.g. type: deny.', path);
    return undefined;
  }
  const definition = actionsByType.get(type);
  if (definition === undefined) {
    report('POLICY_UNKNOWN_ACTION', `Unknown action type "${type}".${suggest(type, [...actionsByType.keys()])}`, [
      ...path,
      'type',
    ]);
    return undefined;
  }
  if (definition.supported === false) {
    report('POLICY_ACTION_NOT_SUPPORTED', `${type} is an ngrok action that Gatehouse does not support yet.`, [
      ...path,
      'type',
    ]);
    return undefined;
  }
  if (!definition.phases.includes(phase)) {
    report(
      'POLICY_ACTION_NOT_ALLOWED_IN_PHASE',
      `${type} cannot run in ${phase}; it runs in ${definition.phases.join(', ')}.`,
      [...path, 'type'],
    );
    return undefined;
  }
  return definition;
}

function parseConfig(
  definition: AnyAction,
  raw: unknown,
  path: DocumentPath,
  report: Report,
): ParsedActionConfig | undefined {
  if (raw === undefined || raw === null) {
    if (definition.configRequired) {
      report('POLICY_CONFIG_INVALID', `${definition.type} needs a config.`, path.slice(0, -1));
      return undefined;
    }
    raw = {};
  }
  const result = definition.parseConfig(raw);
  if (result.success) return result.config;
  // zod also runs a field's other checks when its type is wrong ("expected array" plus "Too big" for a string where a
  // list belongs); the type mismatch is the one worth reading.
  const wrongTypeAt = new Set(
    result.error.issues
      .filter((issue) => issue.code === 'invalid_type')
      .map((issue) => issue.path.map(String).join('\u0000')),
  );
  for (const issue of result.error.issues) {
    const issuePath = [
      ...path,
      ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    ];
    if (issue.code !== 'invalid_type' && wrongTypeAt.has(issue.path.map(String).join('\u0000'))) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        report(
          'POLICY_UNKNOWN_FIELD',
          `"${key}" is not a field of ${definition.type} config.`,
          [...issuePath, key],
          'error',
          'key',
        );
      }
    } else if (issue.code === 'invalid_key') {
      // A bad map key (a header name with a space): reported at the key, with the key check's own message.
      report(
        'POLICY_CONFIG_INVALID',
        `${definition.type} ${issue.path.join('.')}: ${issue.issues[0]?.message ?? 'invalid key'}`,
        issuePath,
        'error',
        'key',
      );
    } else {
      const where = issue.path.length === 0 ? 'config' : issue.path.join('.');
      report(
        'POLICY_CONFIG_INVALID',
        `${definition.type} ${where}: ${describeZodIssue(issue, valueAt(raw, issue.path))}`,
        issuePath,
      );
    }
  }
  return undefined;
}

/**
 * zod leaves `input` out of its issues, so the offending value is looked up in the raw config: without it every wrong
 * type read "is required".
 */
function describeZodIssue(issue: z.core.$ZodIssue, value: { found: boolean; value?: unknown }): string {
  if (issue.code === 'invalid_type') {
    return value.found
      ? `expected ${issue.expected}, got ${describeValue(value.value)}`
      : `is required (${issue.expected})`;
  }
  if (issue.code === 'invalid_union') {
    const expected = [
      ...new Set(issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_type' ? [inner.expected] : []))),
    ];
    if (expected.length > 0)
      return `expected ${expected.join(' or ')}, got ${value.found ? describeValue(value.value) : 'nothing'}`;
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((allowedValue) => JSON.stringify(allowedValue)).join(', ');
    return value.found ? `must be one of ${allowed}` : `is required (one of ${allowed})`;
  }
  return issue.message;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let current = root;
  for (const segment of path) {
    if (
      current === null ||
      typeof current !== 'object' ||
      typeof segment === 'symbol' ||
      !Object.hasOwn(current, segment)
    )
      return { found: false };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current === undefined ? { found: false } : { found: true, value: current };
}

/**
 * The context an action compiles with. Runners are closures created inside `compile`, and V8 keeps a closure's whole
 * scope alive, so a runner that mentions `context` pins it for as long as the policy runs. It is therefore a class
 * (methods on the prototype, not five closures per action), and everything heavy — the parsed document, the issue
 * list, the config path — sits in a holder that `release()` empties once the action has compiled.
 */
class ActionCompilation implements ActionCompileContext {
  #held:
    { parsed: ParsedPolicy; issues: PolicyIssue[]; configPath: DocumentPath; markReadsMcp: () => void } | undefined;

  constructor(
    parsed: ParsedPolicy,
    issues: PolicyIssue[],
    readonly phase: Phase,
    readonly endpointType: 'cloud' | 'internal',
    readonly internalEndpointUrls: ReadonlySet<string> | undefined,
    configPath: DocumentPath,
    readonly actionId: string,
    markReadsMcp: () => void,
  ) {
    this.#held = { parsed, issues, configPath, markReadsMcp };
  }

  release(): void {
    this.#held = undefined;
  }

  template(text: string, field: DocumentPath): CompiledTemplate {
    const { parsed, issues, configPath, markReadsMcp } = this.#use();
    const path = [...configPath, ...field];
    if (/\bmcp\./.test(text)) markReadsMcp();
    const result = compileTemplate(text, this.phase);
    if (result.ok) return result.template;
    for (const problem of result.problems) {
      issues.push(
        issueInString(
          parsed,
          path,
          'POLICY_INTERPOLATION_INVALID',
          `Invalid interpolation: ${problem.message}`,
          problem.offset,
        ),
      );
    }
    return staticTemplate(text);
  }

  expression(source: string, field: DocumentPath): CompiledExpression | undefined {
    const { parsed, issues, configPath, markReadsMcp } = this.#use();
    const path = [...configPath, ...field];
    if (/\bmcp\./.test(source)) markReadsMcp();
    const check = compileExpression(source, this.phase);
    if (check.ok) return check.expression;
    issues.push(invalidExpressionIssue(parsed, path, check));
    return undefined;
  }

  issue(code: ValidationErrorCode, message: string, field: DocumentPath, severity: IssueSeverity = 'error'): void {
    const { parsed, issues, configPath } = this.#use();
    const path = [...configPath, ...field];
    issues.push({ code, message, path: formatPath(path), ...parsed.locate(path), severity });
  }

  #use() {
    if (this.#held === undefined) throw new Error(`the compile context of ${this.actionId} was used after compilation`);
    return this.#held;
  }
}

/** An error inside a string value (CEL, interpolation), located at the offending character rather than the value. */
function issueInString(
  parsed: ParsedPolicy,
  path: DocumentPath,
  code: ValidationErrorCode,
  message: string,
  offset: number,
): PolicyIssue {
  return { code, message, path: formatPath(path), ...parsed.locateInString(path, offset), severity: 'error' };
}

function invalidExpressionIssue(
  parsed: ParsedPolicy,
  path: DocumentPath,
  failure: { message: string; offset: number },
): PolicyIssue {
  return issueInString(
    parsed,
    path,
    'POLICY_EXPRESSION_INVALID',
    `Invalid expression: ${failure.message}`,
    failure.offset,
  );
}

/**
 * A frozen copy with exactly `list.length` slots. An array grown by `push` keeps spare capacity (17 slots for one
 * element), and compiled policies live as long as their endpoint: with 10,000 endpoints loaded the spare slots were
 * over 10 MB of a data plane's heap.
 */
function frozenExactCopy<T>(list: readonly T[]): readonly T[] {
  return Object.freeze(list.slice());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `the ${typeof value} ${value}`;
  return `the ${typeof value}`;
}

/** " Did you mean X?" for near misses (edit distance ≤ 2), which catch most typos in keys and action types. */
function suggest(input: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` Did you mean "${best}"?`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Thrown by `compile` when the policy has errors; carries every issue. */
export class PolicyCompileError extends Error {
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(
      `The policy is invalid: ${issues
        .filter((issue) => issue.severity === 'error')
        .map((issue) => `${issue.code} at ${issue.line}:${issue.column}`)
        .join('; ')}`,
    );
    this.name = 'PolicyCompileError';
  }
}

/** Compiles parsed policy text (or the text itself); throws PolicyCompileError when it has errors. */
export function compile(source: ParsedPolicy | string, options: PolicyOptions): CompiledPolicy {
  const analysis = analyzePolicy(typeof source === 'string' ? parse(source) : source, options);
  if (analysis.policy === undefined) throw new PolicyCompileError(analysis.issues);
  return analysis.policy;
}
