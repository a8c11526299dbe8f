import type { AnyAction, ParsedActionConfig } from './action.js';
import { ActionCompilation } from './action-compile-context.js';
import { actionsByType } from './actions/registry.js';
import type { CompiledAction } from './compiled-policy.js';
import type { Phase } from './context.js';
import type { DocumentPath } from './parse.js';
import { describeValue, isPlainObject, type PolicyWalk } from './policy-walk.js';
import { suggest } from './suggestions.js';
import { reportConfigIssues } from './zod-issues.js';

const actionKeys = new Set(['type', 'config']);

export interface AnalyzedAction {
  readonly compiled: CompiledAction;
  /** The action ends the phase whatever the request (drives the termination and reachability checks). */
  readonly alwaysTerminates: boolean;
}

/**
 * Checks one action of a rule and compiles it: its shape, its type (known, supported, allowed in this phase), the
 * one-authentication-action rule, its config against the action's own schema, then the action's compile step.
 * `undefined` when it has an error that stops it from compiling; every issue is on the walk.
 */
export function analyzeAction(
  walk: PolicyWalk,
  action: unknown,
  actionPath: DocumentPath,
  phase: Phase,
  actionId: string,
): AnalyzedAction | undefined {
  const shape = checkActionShape(walk, action, actionPath, phase);
  if (shape === undefined) return undefined;
  const { definition, rawConfig } = shape;
  if (definition.isAuthentication === true && ++walk.authenticationActions > 1) {
    walk.report(
      'POLICY_MULTIPLE_AUTH_ACTIONS',
      `A policy may have one authentication action (basic-auth, jwt-validation, oauth, openid-connect); ${definition.type} is another. ngrok refuses such a policy too (ERR_NGROK_2239: only one auth action allowed per endpoint).`,
      [...actionPath, 'type'],
    );
  }
  const configPath = [...actionPath, 'config'];
  const config = parseConfig(walk, definition, rawConfig, configPath);
  if (config === undefined) return undefined;
  const context = new ActionCompilation(
    walk,
    phase,
    walk.endpointType,
    walk.internalEndpointUrls,
    configPath,
    actionId,
  );
  const run = config.compile(context);
  context.release();
  walk.needsRequestBody ||= config.needsRequestBody;
  return { compiled: Object.freeze({ type: definition.type, run }), alwaysTerminates: config.alwaysTerminates };
}

function checkActionShape(
  walk: PolicyWalk,
  action: unknown,
  path: DocumentPath,
  phase: Phase,
): { definition: AnyAction; rawConfig: unknown } | undefined {
  if (!isPlainObject(action)) {
    walk.report(
      'POLICY_SCHEMA_INVALID',
      `An action is a map with type and config; found ${describeValue(action)}.`,
      path,
    );
    return undefined;
  }
  for (const key of Object.keys(action)) {
    if (!actionKeys.has(key)) {
      walk.report(
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
    walk.report('POLICY_SCHEMA_INVALID', 'An action needs a type, e.g. type: deny.', path);
    return undefined;
  }
  const definition = actionsByType.get(type);
  if (definition === undefined) {
    walk.report('POLICY_UNKNOWN_ACTION', `Unknown action type "${type}".${suggest(type, [...actionsByType.keys()])}`, [
      ...path,
      'type',
    ]);
    return undefined;
  }
  if (definition.supported === false) {
    walk.report('POLICY_ACTION_NOT_SUPPORTED', `${type} is an ngrok action that Gatehouse does not support yet.`, [
      ...path,
      'type',
    ]);
    return undefined;
  }
  if (!definition.phases.includes(phase)) {
    walk.report(
      'POLICY_ACTION_NOT_ALLOWED_IN_PHASE',
      `${type} cannot run in ${phase}; it runs in ${definition.phases.join(', ')}.`,
      [...path, 'type'],
    );
    return undefined;
  }
  return { definition, rawConfig: action.config };
}

/** The config checked by the action's schema; an absent config stands for `{}` unless the action requires one. */
function parseConfig(
  walk: PolicyWalk,
  definition: AnyAction,
  raw: unknown,
  configPath: DocumentPath,
): ParsedActionConfig | undefined {
  if (raw === undefined || raw === null) {
    if (definition.configRequired) {
      walk.report('POLICY_CONFIG_INVALID', `${definition.type} needs a config.`, configPath.slice(0, -1));
      return undefined;
    }
    raw = {};
  }
  const result = definition.parseConfig(raw);
  if (result.success) return result.config;
  reportConfigIssues(walk, definition.type, result.error, raw, configPath);
  return undefined;
}
