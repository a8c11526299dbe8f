import type { CompiledPolicy } from './compiled-policy.js';
import {
  continueOutcome,
  emptyVars,
  type ActionTrace,
  PolicyContext,
  type ConnectionFacts,
  type Decision,
  type EndpointFacts,
  type Outcome,
  type Phase,
  type RequestFacts,
  type RuleTrace,
} from './context.js';
import { respondWithError } from './actions/shared.js';
import { costExceeded } from './cel-cost.js';
import type { PolicyPorts } from './ports.js';

export interface PhaseResult {
  outcome: Outcome;
  /** The rule and action that ended the phase, when one did. */
  decision?: Decision;
}

export interface RequestFactsInput {
  endpoint: EndpointFacts;
  connection: ConnectionFacts;
  request: RequestFacts;
}

/** One context per request (or per connection for on_tcp_connect); it carries state from phase to phase. */
export function createPolicyContext(
  input: RequestFactsInput,
  ports: Pick<PolicyPorts, 'ipCategories' | 'clock'>,
): PolicyContext {
  return new PolicyContext(input.endpoint, input.connection, input.request, ports.ipCategories, ports.clock.now());
}

/**
 * Runs one phase: rules top to bottom, a rule's actions in order, until an action ends the phase. Expressions that
 * fail at runtime make their rule not match and are recorded on the context (they never fail the request).
 * For on_http_response, set `context.response` first. Resolves synchronously-computed outcomes without extra awaits.
 */
export async function evaluate(
  policy: CompiledPolicy,
  phase: Phase,
  context: PolicyContext,
  ports: PolicyPorts,
): Promise<PhaseResult> {
  context.vars = emptyVars;
  const rules = policy.phases[phase];
  for (let ruleIndex = 0; ruleIndex < rules.length; ruleIndex++) {
    const rule = rules[ruleIndex]!;
    const trace: RuleTrace = { phase, rule_index: rule.index, rule_name: rule.name, matched: true, actions: [] };
    context.trace.push(trace);
    for (let expressionIndex = 0; expressionIndex < rule.expressions.length; expressionIndex++) {
      const expression = rule.expressions[expressionIndex]!;
      let value: unknown;
      try {
        value = expression.evaluate(context);
      } catch (error) {
        context.recordRuntimeError(expression.source, error);
        trace.error = context.runtimeErrors.at(-1)?.message ?? 'evaluation failed';
        value = false;
      }
      const overrun = costExceeded(context);
      if (overrun !== undefined) return costExceededResult(trace, overrun);
      if (value !== true) {
        trace.matched = false;
        break;
      }
    }
    if (!trace.matched) continue;
    for (const action of rule.actions) {
      const pending = action.run(context, ports);
      const result = pending instanceof Promise ? await pending : pending;
      const { outcome } = result;
      // An interpolation in the action's config may have run out of the request's CEL budget (it renders '').
      const overrun = costExceeded(context);
      if (overrun !== undefined) return costExceededResult(trace, overrun);
      const actionTrace: ActionTrace = { type: action.type, result: traceResult[outcome.kind] };
      if (result.detail !== undefined) actionTrace.detail = result.detail;
      trace.actions.push(actionTrace);
      if (outcome.kind !== 'continue') {
        const decision: Decision = { phase, rule_index: rule.index, rule_name: rule.name, action: action.type };
        context.decision = decision;
        return { outcome, decision };
      }
    }
  }
  if (phase === 'on_http_request' && policy.endpointType === 'cloud' && context.endpoint.type === 'cloud') {
    // Validation rules this out; it can still happen when a terminating action declines at runtime (redirect with from).
    return {
      outcome: respondWithError(
        'POLICY_FELL_THROUGH',
        'Gatehouse: the endpoint policy did not decide what to do with this request.',
      ),
    };
  }
  return { outcome: continueOutcome };
}

/** A CEL cost overrun fails the request closed with a stable code; nothing after it runs. */
function costExceededResult(trace: RuleTrace, reason: string): PhaseResult {
  trace.matched = false;
  trace.error = reason;
  return { outcome: respondWithError('POLICY_COST_EXCEEDED', `Gatehouse: ${reason}.`) };
}

const traceResult = {
  continue: 'continued',
  respond: 'responded',
  forward: 'forwarded',
  close: 'closed',
} as const satisfies Record<Outcome['kind'], RuleTrace['actions'][number]['result']>;
