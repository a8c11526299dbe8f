import { analyzeRule } from './analyze-rule.js';
import type { CompiledRule } from './compiled-policy.js';
import type { Phase } from './context.js';
import { maxRulesPerPhase } from './limits.js';
import { describeValue, isPlainObject, type PolicyWalk } from './policy-walk.js';
import { legacyPhaseKeys, phaseKeys } from './schema.js';
import { suggest } from './suggestions.js';

const allPhaseKeys = [...phaseKeys, ...Object.keys(legacyPhaseKeys)];

export const terminatingActionsHelp =
  'deny, custom-response, redirect (without from), forward-internal (on_error: halt) or close-connection';

/**
 * Checks and compiles one top-level entry of a policy: that its key names a phase (once, and one that runs on this
 * endpoint type), that its value is a list of rules, each rule, and that a cloud endpoint's request phase always ends.
 * `seenPhases` maps each phase met so far to the key that defined it. `undefined` when the entry is not a usable
 * phase; every issue is on the walk.
 */
export function analyzePhase(
  walk: PolicyWalk,
  key: string,
  rules: unknown,
  seenPhases: Map<Phase, string>,
): { phase: Phase; rules: CompiledRule[] } | undefined {
  const phase = (key in legacyPhaseKeys ? legacyPhaseKeys[key as keyof typeof legacyPhaseKeys] : key) as Phase;
  if (!(phaseKeys as readonly string[]).includes(phase)) {
    walk.report(
      'POLICY_UNKNOWN_FIELD',
      `"${key}" is not a phase; use one of ${phaseKeys.join(', ')}.${suggest(key, allPhaseKeys)}`,
      [key],
      'error',
      'key',
    );
    return undefined;
  }
  if (phase !== key) {
    walk.report(
      'POLICY_DEPRECATED_PHASE_NAME',
      `"${key}" is a deprecated name; write ${phase}.`,
      [key],
      'warning',
      'key',
    );
  }
  const previousKey = seenPhases.get(phase);
  if (previousKey !== undefined) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `"${key}" and "${previousKey}" both define ${phase}; keep one.`,
      [key],
      'error',
      'key',
    );
    return undefined;
  }
  seenPhases.set(phase, key);
  if (phase === 'on_tcp_connect' && !walk.acceptsConnections) {
    walk.report(
      'POLICY_PHASE_NOT_ALLOWED',
      'on_tcp_connect never runs on an internal endpoint (or an agent endpoint on a .internal URL): traffic reaches it through forward-internal, without a new connection.',
      [key],
      'error',
      'key',
    );
    return undefined;
  }
  const mustTerminate = phase === 'on_http_request' && walk.endpointType === 'cloud';
  if (rules === null || rules === undefined) {
    if (mustTerminate) reportEmptyPhase(walk, key);
    return undefined;
  }
  if (!Array.isArray(rules)) {
    const found = isPlainObject(rules) ? 'a map' : describeValue(rules);
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `${key} must be a list of rules (start each rule with "- "), but ${found} was found.`,
      [key],
    );
    return undefined;
  }
  if (rules.length > maxRulesPerPhase) {
    walk.report('POLICY_TOO_LARGE', `${key} has ${rules.length} rules; the limit is ${maxRulesPerPhase}.`, [key]);
    return undefined;
  }

  const compiled: CompiledRule[] = [];
  let terminatedAt: number | undefined;
  rules.forEach((rule: unknown, ruleIndex) => {
    const analyzed = analyzeRule(walk, rule, [key, ruleIndex], phase, terminatedAt);
    if (analyzed === undefined) return;
    if (analyzed.endsPhase) terminatedAt ??= ruleIndex;
    compiled.push(analyzed.compiled);
  });

  if (mustTerminate && terminatedAt === undefined && rules.length === 0) reportEmptyPhase(walk, key);
  else if (mustTerminate && terminatedAt === undefined) {
    const lastIndex = rules.length - 1;
    const lastRule: unknown = rules[lastIndex];
    const lastName = isPlainObject(lastRule) && typeof lastRule.name === 'string' ? ` ("${lastRule.name}")` : '';
    walk.report(
      'POLICY_NOT_TERMINATING',
      `A cloud endpoint must end on_http_request with a rule that has no expressions and ends in ${terminatingActionsHelp}; the last rule${lastName} does not, so some requests would have nowhere to go.`,
      [key, lastIndex],
    );
  }
  return { phase, rules: compiled };
}

function reportEmptyPhase(walk: PolicyWalk, key: string): void {
  walk.report(
    'POLICY_NOT_TERMINATING',
    `${key} has no rules: a cloud endpoint must end it with a rule without expressions that runs ${terminatingActionsHelp}.`,
    [key],
    'error',
    'key',
  );
}
