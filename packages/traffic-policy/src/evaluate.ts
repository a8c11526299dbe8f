import type { CompiledPolicy } from './compiled-policy.js';
import {
  continueOutcome,
  emptyVars,
  type ActionTrace,
  PolicyContext,
  type ConnectionFacts,
  type Decision,
  type EndpointFacts,
  type HeaderMap,
  type McpFacts,
  type Outcome,
  type Phase,
  type RequestFacts,
  type RuleTrace,
  type SseEventFacts,
  type BodyReplacement,
  type ResponseFacts,
} from './context.js';
import { respondWithError } from './actions/shared.js';
import { jsonRpcErrorBody, jsonRpcErrorCodes } from './mcp.js';
import { costExceeded } from './cel-cost.js';
import { ExpressionFailure, failure } from './expression-failure.js';
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

/**
 * Adds what actions scheduled for the response the client gets, whichever it is (the upstream's or a synthetic one):
 * the Set-Cookie of a renewed sign-in session. Called before on_http_response runs, so its rules see the cookie too.
 */
export function applyResponseDirectives(context: PolicyContext, headers: HeaderMap): void {
  const cookies = context.directives.setCookies;
  if (cookies === undefined || cookies.length === 0) return;
  headers.set('set-cookie', [...(headers.get('set-cookie') ?? []), ...cookies]);
}

/** One context per request (or per connection for on_tcp_connect); it carries state from phase to phase. */
export function createPolicyContext(
  input: RequestFactsInput,
  ports: Pick<PolicyPorts, 'ipCategories' | 'ipIntelligence' | 'clock'>,
): PolicyContext {
  return new PolicyContext(
    input.endpoint,
    input.connection,
    input.request,
    ports.ipCategories,
    ports.clock.now(),
    ports.ipIntelligence,
  );
}

/**
 * Runs one phase: rules top to bottom, a rule's actions in order, until an action ends the phase. An expression that
 * fails at runtime — a rule expression, a bucket key, a `${}` in an action's config — fails closed: the phase ends with
 * POLICY_RUNTIME_ERROR (500), and the expression and its error are on the rule's trace and in `runtimeErrors`. Treating
 * it as "no match" would let a deny rule that throws on a missing header wave the request through to the upstream.
 * For on_http_response, set `context.response` first. Resolves synchronously-computed outcomes without extra awaits.
 */
export async function evaluate(
  policy: CompiledPolicy,
  phase: Phase,
  context: PolicyContext,
  ports: PolicyPorts,
): Promise<PhaseResult> {
  context.secretValues = policy.secretValues;
  const batch = context.request.mcp;
  if (phase === 'on_http_request' && batch?.kind === 'batch' && batch.messages !== undefined)
    return evaluateBatch(policy, context, ports, batch.messages);
  return evaluateRules(policy, phase, context, ports);
}

/** What on_event_stream_message decided for one event. */
export interface StreamEventResult {
  /** `continue`, or the runtime error that failed the run (the stream must end: fail closed). */
  outcome: Outcome;
  /** sse-find-replace replacements for this event, in order. */
  replacements: readonly (BodyReplacement & { field: 'data' | 'retry' })[];
  trace: readonly RuleTrace[];
}

/**
 * on_event_stream_message for one server-sent event, with `response` as the client receives it (`res.*`). Each event runs in a context of its own over the request's facts,
 * its response and the results of earlier actions, so a long stream neither accumulates traces nor spends the
 * request's CEL budget: the budget, the trace and `vars` are per event.
 */
export async function evaluateStreamEvent(
  policy: CompiledPolicy,
  context: PolicyContext,
  response: ResponseFacts,
  event: SseEventFacts,
  ports: PolicyPorts,
): Promise<StreamEventResult> {
  const eventContext = context.fork(context.request);
  eventContext.response = response;
  Object.assign(eventContext.actionResults, context.actionResults);
  eventContext.sseEvent = event;
  const result = await evaluate(policy, 'on_event_stream_message', eventContext, ports);
  return {
    outcome: result.outcome,
    replacements: eventContext.directives.sseReplacements ?? [],
    trace: eventContext.trace,
  };
}

/**
 * A JSON-RPC batch is judged element by element: the request phase runs once per element, with `mcp.*` describing
 * that element, so a rule that denies a tool denies every batch that calls it wherever it sits. The first element runs
 * on the request's own context (its actions change the request that goes upstream); the others run on copies, so
 * header and URL changes are not applied twice, while their port effects (rate-limit counts) are real. The batch goes
 * on only when every element would: the first answer or close of any element is the batch's, and elements the policy
 * would send different ways answer MCP_BATCH_SPLIT.
 */
async function evaluateBatch(
  policy: CompiledPolicy,
  context: PolicyContext,
  ports: PolicyPorts,
  messages: readonly McpFacts[],
): Promise<PhaseResult> {
  // Copies taken before the first element's actions change the request.
  const copies = messages.slice(1).map(() => context.fork(copyRequest(context.request)));
  let first: PhaseResult | undefined;
  try {
    for (let index = 0; index < messages.length; index++) {
      const elementContext = index === 0 ? context : copies[index - 1]!;
      elementContext.mcp = messages[index];
      const result = await evaluateRules(policy, 'on_http_request', elementContext, ports);
      if (elementContext !== context) mergeElementRun(context, elementContext);
      if (result.outcome.kind === 'respond' || result.outcome.kind === 'close') {
        if (result.decision !== undefined) context.decision = result.decision;
        return result.outcome.kind === 'respond' && result.outcome.jsonRpc === true
          ? { ...result, outcome: answerWholeBatch(result.outcome, messages, index) }
          : result;
      }
      if (first === undefined) first = result;
      else if (!sameWay(first.outcome, result.outcome)) {
        return {
          outcome: respondWithError(
            'MCP_BATCH_SPLIT',
            'Gatehouse: the policy sends the elements of this JSON-RPC batch different ways; send them one by one.',
          ),
        };
      }
    }
  } finally {
    // The response phase and the request log see the batch as a whole again.
    context.mcp = context.request.mcp;
  }
  return first ?? { outcome: continueOutcome };
}

/**
 * A JSON-RPC answer to one element of a batch becomes the batch's answer: an array with one response per element that
 * has an id (JSON-RPC 2.0 §6), in order — the refused element's own answer, and for the others an error saying they
 * were not run, because the batch never reached the upstream. A client waiting on every id would otherwise hang.
 */
function answerWholeBatch(
  answer: Extract<Outcome, { kind: 'respond' }>,
  messages: readonly McpFacts[],
  refused: number,
): Outcome {
  const responses: string[] = [];
  messages.forEach((message, index) => {
    if (index === refused) responses.push(answer.response.body);
    else if (message.kind === 'request' && message.id !== undefined)
      responses.push(
        jsonRpcErrorBody(
          message.id,
          jsonRpcErrorCodes.denied,
          `not run: element ${refused + 1} of this JSON-RPC batch was refused by the gateway policy`,
        ),
      );
  });
  return { ...answer, response: { ...answer.response, body: `[${responses.join(',')}]` } };
}

function copyRequest(request: RequestFacts): RequestFacts {
  return { ...request, headers: new Map([...request.headers].map(([name, values]) => [name, [...values]])) };
}

/** An element run's trace, logs and list filters join the request's; its other effects stay on the copy. */
function mergeElementRun(context: PolicyContext, element: PolicyContext): void {
  context.trace.push(...element.trace);
  context.logs.push(...element.logs);
  for (const error of element.runtimeErrors) if (context.runtimeErrors.length < 20) context.runtimeErrors.push(error);
  const filters = element.directives.mcpListFilters;
  if (filters !== undefined) (context.directives.mcpListFilters ??= []).push(...filters);
}

function sameWay(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'forward' || a.url === (b as { url: string }).url;
}

async function evaluateRules(
  policy: CompiledPolicy,
  phase: Phase,
  context: PolicyContext,
  ports: PolicyPorts,
): Promise<PhaseResult> {
  context.vars = emptyVars;
  const rules = policy.phases[phase];
  // Per-rule time for the rule counters: one clock read per rule boundary (a rule's end is the next one's start), not
  // two per rule. performance.now() exists in Node and browsers alike.
  let ruleStartedAt = rules.length === 0 ? 0 : performance.now();
  for (let ruleIndex = 0; ruleIndex < rules.length; ruleIndex++) {
    const rule = rules[ruleIndex]!;
    const trace: RuleTrace = { phase, rule_index: rule.index, rule_name: rule.name, matched: true, actions: [] };
    context.trace.push(trace);
    try {
      for (let expressionIndex = 0; expressionIndex < rule.expressions.length; expressionIndex++) {
        const expression = rule.expressions[expressionIndex]!;
        let value: unknown;
        try {
          value = expression.evaluate(context);
        } catch (error) {
          trace.matched = false;
          // Running out of the CEL budget has its own code; any other failure is POLICY_RUNTIME_ERROR.
          const overrun = costExceeded(context);
          if (overrun !== undefined) return costExceededResult(trace, overrun);
          return failClosed(context, trace, failure(expression.source, error, context), 'expressions');
        }
        const overrun = costExceeded(context);
        if (overrun !== undefined) return costExceededResult(trace, overrun);
        if (typeof value !== 'boolean') {
          // A `dyn` expression (vars.*, actions.*) that turned out not to be a bool: a runtime type error in CEL.
          trace.matched = false;
          const problem = failure(expression.source, new Error(`expected a bool, got ${describeType(value)}`), context);
          return failClosed(context, trace, problem, 'expressions');
        }
        if (!value) {
          trace.matched = false;
          break;
        }
      }
      if (!trace.matched) continue;
      for (const action of rule.actions) {
        let result: Awaited<ReturnType<typeof action.run>>;
        try {
          const pending = action.run(context, ports);
          result = pending instanceof Promise ? await pending : pending;
        } catch (error) {
          // Actions return outcomes; the one thing they let through is a failed `${}` or bucket key.
          if (!(error instanceof ExpressionFailure)) throw error;
          const overrun = costExceeded(context);
          if (overrun !== undefined) return costExceededResult(trace, overrun);
          trace.actions.push({
            type: action.type,
            result: 'responded',
            detail: context.redact(`expression failed: ${error.message}`),
          });
          return failClosed(context, trace, error, action.type);
        }
        const { outcome } = result;
        // An interpolation in the action's config may have run out of the request's CEL budget (it renders '').
        const overrun = costExceeded(context);
        if (overrun !== undefined) return costExceededResult(trace, overrun);
        const actionTrace: ActionTrace = { type: action.type, result: traceResult[outcome.kind] };
        if (result.detail !== undefined) actionTrace.detail = context.redact(result.detail);
        trace.actions.push(actionTrace);
        if (outcome.kind !== 'continue') {
          const decision: Decision = { phase, rule_index: rule.index, rule_name: rule.name, action: action.type };
          context.decision = decision;
          return { outcome, decision };
        }
      }
    } finally {
      // finally covers every way out of the rule (continue, return).
      const endedAt = performance.now();
      trace.elapsed_ms = endedAt - ruleStartedAt;
      ruleStartedAt = endedAt;
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

/**
 * Ends the phase with POLICY_RUNTIME_ERROR. The client learns only that the policy failed (the expression can quote
 * the policy's secrets); the expression and the error go to the rule's trace and the request log.
 */
function failClosed(context: PolicyContext, trace: RuleTrace, error: ExpressionFailure, action: string): PhaseResult {
  trace.error = context.redact(error.message);
  const decision: Decision = { phase: trace.phase, rule_index: trace.rule_index, rule_name: trace.rule_name, action };
  context.decision = decision;
  return {
    outcome: respondWithError(
      'POLICY_RUNTIME_ERROR',
      'Gatehouse: the traffic policy failed to evaluate an expression for this request; the request log has the details.\n',
    ),
    decision,
  };
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint') return 'an int';
  return `a ${typeof value}`;
}

const traceResult = {
  continue: 'continued',
  respond: 'responded',
  forward: 'forwarded',
  'provider-response': 'forwarded',
  close: 'closed',
} as const satisfies Record<Outcome['kind'], RuleTrace['actions'][number]['result']>;
