import { analyzePhase, terminatingActionsHelp } from './analyze-phase.js';
import type { CompiledPolicy, CompiledRule, PolicyAnalysis, PolicyOptions } from './compiled-policy.js';
import type { Phase } from './context.js';
import type { PolicyIssue } from './errors.js';
import { parse, type ParsedPolicy } from './parse.js';
import { describeValue, frozenExactCopy, isPlainObject, PolicyWalk } from './policy-walk.js';

export type {
  CompiledAction,
  CompiledPolicy,
  CompiledRule,
  EndpointType,
  PolicyAnalysis,
  PolicyOptions,
} from './compiled-policy.js';

/**
 * Validates and compiles in one pass, so what is checked is exactly what runs. Collects every issue instead of
 * stopping at the first; a policy is produced only when there is no error. Never throws.
 *
 * The walk goes document → phases (analyze-phase.ts) → rules (analyze-rule.ts) → expressions (analyze-expressions.ts)
 * and actions (analyze-action.ts, with zod-issues.ts for config errors); `PolicyWalk` carries the issues through it.
 */
export function analyzePolicy(parsed: ParsedPolicy, options: PolicyOptions): PolicyAnalysis {
  const walk = new PolicyWalk(parsed, options);
  if (walk.hasErrors()) return { policy: undefined, issues: walk.issues, secretReferences: [] };

  const document = parsed.document ?? {};
  if (!isPlainObject(document)) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `A policy is a map of phases (on_http_request, on_http_response, on_event_stream_message, on_tcp_connect); found ${describeValue(document)}.`,
      [],
    );
    return { policy: undefined, issues: walk.issues, secretReferences: walk.secretReferences };
  }

  const compiledPhases: Record<Phase, readonly CompiledRule[]> = {
    on_tcp_connect: [],
    on_http_request: [],
    on_http_response: [],
    on_event_stream_message: [],
  };
  const seenPhases = new Map<Phase, string>();
  for (const [key, rules] of Object.entries(document)) {
    const analyzed = analyzePhase(walk, key, rules, seenPhases);
    if (analyzed !== undefined) compiledPhases[analyzed.phase] = analyzed.rules;
  }

  if (options.endpointType === 'cloud' && !seenPhases.has('on_http_request')) {
    const empty = Object.keys(document).length === 0;
    walk.report(
      'POLICY_NOT_TERMINATING',
      `A cloud endpoint's policy must have on_http_request ending in a rule without expressions that runs ${terminatingActionsHelp}${empty ? '; this policy is empty' : ''}.`,
      [],
    );
  }

  if (walk.hasErrors())
    return {
      policy: undefined,
      issues: walk.issues,
      secretReferences: walk.secretReferences,
      unusableSecretFields: walk.unusableSecretFields,
    };
  const policy: CompiledPolicy = Object.freeze({
    endpointType: options.endpointType,
    phases: Object.freeze({
      on_tcp_connect: frozenExactCopy(compiledPhases.on_tcp_connect),
      on_http_request: frozenExactCopy(compiledPhases.on_http_request),
      on_http_response: frozenExactCopy(compiledPhases.on_http_response),
      on_event_stream_message: frozenExactCopy(compiledPhases.on_event_stream_message),
    }),
    needsRequestBody: walk.needsRequestBody,
    readsMcp: walk.readsMcp,
    secretReferences: Object.freeze(distinctSecrets(walk.secretReferences)),
    secretValues: walk.secretValues,
  });
  return {
    policy,
    issues: walk.issues,
    secretReferences: walk.secretReferences,
    unusableSecretFields: walk.unusableSecretFields,
  };
}

/** Where a policy cannot use the secret values it would be applied with; `message` never contains a value. */
export interface SecretValueProblem {
  path: string;
  line: number;
  column: number;
  message: string;
}

/**
 * What applying `source` with these secret values would break: errors of the compile with the values (a value a
 * `${}` cannot compute with) and fields the values do not fit (which would answer SECRET_UNAVAILABLE on every
 * request). The control plane asks before a rotation; an empty list means the policy keeps working.
 */
export function checkSecretValues(
  source: string,
  options: Pick<PolicyOptions, 'endpointType' | 'acceptsConnections' | 'secrets'>,
): SecretValueProblem[] {
  const analysis = analyzePolicy(parse(source), options);
  return [
    ...analysis.issues
      .filter((issue) => issue.severity === 'error')
      .map(({ path, line, column, message }) => ({ path, line, column, message })),
    ...(analysis.unusableSecretFields ?? []),
  ];
}

/** Each vault/name pair once, in first-mention order. */
export function distinctSecrets(
  references: readonly { vault: string; name: string }[],
): { vault: string; name: string }[] {
  const seen = new Map<string, { vault: string; name: string }>();
  for (const { vault, name } of references) {
    const key = `${vault}\u0000${name}`;
    if (!seen.has(key)) seen.set(key, Object.freeze({ vault, name }));
  }
  return [...seen.values()];
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
