import { Environment } from '@marcbachmann/cel-js';
import { builtinAliases, registerPolicyFunctions, renameBuiltins, type CelScopeHolder } from './cel-functions.js';
import {
  benchmarkSwitches,
  estimateCost,
  instrumentCelAst,
  isCelNode,
  maxExpressionCost,
  metered,
  walkCelAst,
} from './cel-cost.js';
import { PolicyRegex } from './regex.js';
import { findSecretReferences, type SecretReference } from './cel-secrets.js';
import type { CelRequestScope } from './cel-functions.js';
import { registerValueTypes } from './cel-values.js';
import { namespaceTypeNames } from './cel-namespaces.js';
import { celExpressionLimits } from './limits.js';
import { celFieldTypes, celObjectTypes } from './cel-types.js';
import { explainCelMessage, type CelNames } from './cel-messages.js';
import {
  ConnectionTimesView,
  ConnectionView,
  EndpointView,
  GeoView,
  RequestTimesView,
  McpView,
  RequestView,
  ResponseView,
  TimeView,
  TlsView,
  CertificateValidityView,
  ClientCertificateView,
  DistinguishedNameView,
  SubjectAltNamesView,
  type Phase,
  type PolicyContext,
} from './context.js';

/**
 * The CEL environments policies are checked and evaluated in, one per phase, so that `res.*` in a request rule is
 * rejected at save time rather than silently empty at runtime.
 */

/** Custom function handlers read the current request from here; set right before each synchronous evaluation. */
const scope: CelScopeHolder = { current: undefined };
const holderScope = scope;

function createEnvironment(phase: Phase): Environment {
  const environment = registerValueTypes(
    new Environment({ homogeneousAggregateLiterals: false, limits: celExpressionLimits }),
  )
    .registerType('DistinguishedName', { ctor: DistinguishedNameView, fields: celFieldTypes('DistinguishedName') })
    .registerType('SubjectAltNames', { ctor: SubjectAltNamesView, fields: celFieldTypes('SubjectAltNames') })
    .registerType('CertificateValidity', {
      ctor: CertificateValidityView,
      fields: celFieldTypes('CertificateValidity'),
    })
    .registerType('ClientCertificate', { ctor: ClientCertificateView, fields: celFieldTypes('ClientCertificate') })
    .registerType('Tls', { ctor: TlsView, fields: celFieldTypes('Tls') })
    .registerType('ConnectionTimes', { ctor: ConnectionTimesView, fields: celFieldTypes('ConnectionTimes') })
    .registerType('Geo', { ctor: GeoView, fields: celFieldTypes('Geo') })
    .registerType('Connection', { ctor: ConnectionView, fields: celFieldTypes('Connection') })
    .registerType('Endpoint', { ctor: EndpointView, fields: celFieldTypes('Endpoint') })
    .registerType('Time', { ctor: TimeView, fields: celFieldTypes('Time') })
    .registerVariable('conn', 'Connection', { description: 'The client connection.' })
    .registerVariable('endpoint', 'Endpoint', { description: 'The endpoint whose policy is running.' })
    .registerVariable('time', 'Time', { description: 'time.now: the request time as an RFC 3339 string.' })
    .registerVariable('vars', 'map<string, dyn>', { description: 'Variables set by set-vars in this phase.' })
    .registerVariable('actions', 'map<string, dyn>', {
      description: 'Results of earlier actions: actions.ngrok.<action>.* (alias actions.gatehouse.<action>.*).',
    });

  if (phase !== 'on_tcp_connect') {
    environment
      .registerType('RequestTimes', { ctor: RequestTimesView, fields: celFieldTypes('RequestTimes') })
      .registerType('Request', { ctor: RequestView, fields: celFieldTypes('Request') })
      .registerType('Mcp', { ctor: McpView, fields: celFieldTypes('Mcp') })
      .registerVariable('req', 'Request', { description: 'The HTTP request.' })
      .registerVariable('mcp', 'Mcp', {
        description:
          'The MCP (JSON-RPC) message in the request body: method, tool, arguments, session_id, protocol_version, kind; empty when not MCP.',
      });
  }
  if (phase === 'on_http_response' || phase === 'on_event_stream_message') {
    environment
      .registerType('Response', { ctor: ResponseView, fields: celFieldTypes('Response') })
      .registerVariable('res', 'Response', { description: 'The upstream (or policy-generated) response.' });
  }
  if (phase === 'on_event_stream_message') {
    environment.registerVariable('sse', 'map<string, string>', {
      description:
        'The server-sent event being streamed: sse.event, sse.data (data lines joined with newlines), sse.id, sse.retry.',
    });
  }
  return registerPolicyFunctions(environment, scope);
}

const environments = new Map<Phase, Environment>();

/** The variable an mcp-tools predicate reads: the list item it judges. */
export type McpItemVariable = 'tool' | 'prompt' | 'resource';

const itemEnvironments = new Map<McpItemVariable, Environment>();

/**
 * The environment of an mcp-tools predicate: only the item (a map of the list entry as the upstream described it:
 * `name`, `title`, `annotations`, `uri`, …), so the same predicate decides the list and the call without a request.
 */
function itemEnvironment(variable: McpItemVariable): Environment {
  let environment = itemEnvironments.get(variable);
  if (environment === undefined) {
    environment = new Environment({
      homogeneousAggregateLiterals: false,
      limits: celExpressionLimits,
    }).registerVariable(variable, 'map<string, dyn>', {
      description: `The ${variable} being listed or called, as the upstream lists it.`,
    });
    itemEnvironments.set(variable, environment);
  }
  return environment;
}

/** A checked mcp-tools predicate: evaluates to a bool over one item; throws on runtime errors (callers fail closed). */
export interface CompiledItemExpression {
  readonly source: string;
  evaluate(item: unknown): unknown;
}

export function compileItemExpression(
  source: string,
  variable: McpItemVariable,
): { ok: true; expression: CompiledItemExpression } | { ok: false; message: string; offset: number } {
  const failed = (error: unknown) => {
    const celError = error as { summary?: string; message?: string; range?: { start: number } } | undefined;
    return {
      ok: false as const,
      message: celError?.summary ?? celError?.message ?? String(error),
      offset: celError?.range?.start ?? 0,
    };
  };
  let program: Program;
  try {
    program = itemEnvironment(variable).parse(source);
    const check = program.check();
    if (!check.valid) return failed(check.error);
    if (check.type !== 'bool' && check.type !== 'dyn')
      return { ok: false, message: `the expression must be a bool, not ${check.type}`, offset: 0 };
  } catch (error) {
    return failed(error);
  }
  const bound = program;
  return { ok: true, expression: { source, evaluate: (item) => bound({ [variable]: item }) as unknown } };
}

let retryConditionEnvironment: Environment | undefined;

/** A checked http-request `retry_condition`: a bool over `attempts` and `last_attempt`; throws on runtime errors. */
export interface CompiledRetryCondition {
  readonly source: string;
  evaluate(variables: { attempts: bigint; last_attempt: Record<string, unknown> }): unknown;
}

/**
 * ngrok evaluates `retry_condition` after an attempt with only `attempts` and `last_attempt` (`req`, `res`, `error`)
 * in scope, so it gets an environment of its own, like the mcp-tools predicates: the request variables are not there.
 */
export function compileRetryCondition(
  source: string,
): { ok: true; expression: CompiledRetryCondition } | { ok: false; message: string; offset: number } {
  retryConditionEnvironment ??= new Environment({ homogeneousAggregateLiterals: false, limits: celExpressionLimits })
    .registerVariable('attempts', 'int', { description: 'Attempts made so far (1 after the first).' })
    .registerVariable('last_attempt', 'map<string, dyn>', {
      description: 'The last attempt: req, res (status_code, header, body, …) and error (a string, empty when none).',
    });
  let program: Program;
  try {
    program = retryConditionEnvironment.parse(source);
    const check = program.check();
    if (!check.valid) return celFailure(check.error);
    if (check.type !== 'bool' && check.type !== 'dyn')
      return { ok: false, message: `the expression must be a bool, not ${check.type}`, offset: 0 };
  } catch (error) {
    return celFailure(error);
  }
  const bound = program;
  return { ok: true, expression: { source, evaluate: (variables) => bound(variables) as unknown } };
}

function celFailure(error: unknown): { ok: false; message: string; offset: number } {
  const celError = error as { summary?: string; message?: string; range?: { start: number } } | undefined;
  return {
    ok: false,
    message: celError?.summary ?? celError?.message ?? String(error),
    offset: celError?.range?.start ?? 0,
  };
}

export function celEnvironment(phase: Phase): Environment {
  let environment = environments.get(phase);
  if (environment === undefined) environments.set(phase, (environment = createEnvironment(phase)));
  return environment;
}

type Program = ReturnType<Environment['parse']>;

/** A checked CEL program bound to its source; `evaluate` may throw, callers decide what a failure means. */
export interface CompiledExpression {
  readonly source: string;
  /** The CEL type the checker inferred (`bool`, `string`, `dyn`, …). */
  readonly type: string;
  /** Its `secrets.get('vault', 'name')` calls (offsets in `source`). */
  readonly secretReferences: readonly SecretReference[];
  evaluate(context: PolicyContext): unknown;
}

export type ExpressionCheck =
  | { ok: true; expression: CompiledExpression }
  | { ok: false; message: string; /** Offset inside the source where the problem starts. */ offset: number };

/** Parses and type-checks once; the returned program skips checking at evaluation. Never throws. */
export function compileExpression(source: string, phase: Phase): ExpressionCheck {
  // Compiled programs are immutable and hold no request state, so policies that share an expression (10,000
  // endpoints on one template, a policy re-saved with one rule changed) share one program: less memory, faster loads.
  const key = `${phase}\u0000${benchmarkSwitches.legacyCel ? 'legacy\u0000' : ''}${source}`;
  const cached = compiledExpressions.get(key);
  if (cached !== undefined) return cached;
  const check = parseAndCheck(source, phase);
  if (compiledExpressions.size >= maxCachedExpressions) {
    const oldest = compiledExpressions.keys().next().value;
    if (oldest !== undefined) compiledExpressions.delete(oldest);
  }
  compiledExpressions.set(key, check);
  return check;
}

const maxCachedExpressions = 20_000;
const compiledExpressions = new Map<string, ExpressionCheck>();

function parseAndCheck(source: string, phase: Phase): ExpressionCheck {
  let program: Program;
  try {
    program = celEnvironment(phase).parse(source);
    if (!benchmarkSwitches.legacyCel) renameBuiltins(program.ast);
  } catch (error) {
    return failure(error, phase, source);
  }
  let check: ReturnType<Program['check']>;
  try {
    check = program.check();
  } catch (error) {
    // The checker is expected to report, not throw; a throw must still not escape validation.
    return failure(error, phase, source);
  }
  if (!check.valid) return failure(check.error, phase, source);
  const type = check.type ?? 'dyn';
  if (benchmarkSwitches.legacyCel) return { ok: true, expression: legacyExpression(source, type, program) };
  const problem = checkRegexLiterals(program.ast, source) ?? checkCost(program.ast);
  if (problem !== undefined) return { ok: false, ...problem };
  const secrets = findSecretReferences(program.ast);
  if (!secrets.ok) return { ok: false, message: secrets.message, offset: secrets.offset };
  instrumentCelAst(program.ast);
  const expression: CompiledExpression = {
    source,
    type,
    secretReferences: Object.freeze(secrets.references),
    evaluate(context) {
      scope.current = context;
      return metered(context, () => program(context.activation) as unknown);
    },
  };
  programAsts.set(expression, program.ast);
  programs.set(expression, program);
  return { ok: true, expression };
}

const programs = new WeakMap<CompiledExpression, Program>();

/**
 * Evaluates an expression outside any request (a field computed once when the configuration is applied): `scope`
 * answers `secrets.get` and refuses request lookups, and no request variable is bound. Throws on failure.
 */
export function evaluateOutsideRequest(expression: CompiledExpression, scope: CelRequestScope): unknown {
  const program = programs.get(expression);
  if (program === undefined) throw new Error('the expression was not compiled by compileExpression');
  const saved = holderScope.current;
  holderScope.current = scope;
  try {
    return metered(scope, () => program({}) as unknown);
  } finally {
    holderScope.current = saved;
  }
}

/** The expression as compiled before issue 12; reachable only through `benchmarkSwitches` (bench). */
function legacyExpression(source: string, type: string, program: Program): CompiledExpression {
  return {
    source,
    type,
    secretReferences: findSecretReferencesOrNone(program.ast),
    evaluate(context) {
      scope.current = context;
      return program(context.activation) as unknown;
    },
  };
}

function findSecretReferencesOrNone(ast: unknown): readonly SecretReference[] {
  const found = findSecretReferences(ast);
  return found.ok ? found.references : [];
}

const programAsts = new WeakMap<CompiledExpression, unknown>();

/** The checked tree behind an expression; tests use it to hold the checker's types against evaluated values. */
export function celAstOf(expression: CompiledExpression): unknown {
  return programAsts.get(expression);
}

/** A literal pattern that RE2 refuses is a save-time error at the pattern's position, not a rule that never matches. */
function checkRegexLiterals(ast: unknown, source: string): { message: string; offset: number } | undefined {
  let problem: { message: string; offset: number } | undefined;
  walkCelAst(ast, (node) => {
    if (problem !== undefined || (node.op !== 'rcall' && node.op !== 'call') || !Array.isArray(node.args)) return;
    if (node.args[0] !== builtinAliases.matches) return;
    const argumentList: unknown = node.op === 'rcall' ? node.args[2] : node.args[1];
    const patternNode: unknown = Array.isArray(argumentList) ? argumentList.at(-1) : undefined;
    if (!isCelNode(patternNode) || patternNode.op !== 'value' || typeof patternNode.args !== 'string') return;
    const compiled = PolicyRegex.compile(patternNode.args);
    if (compiled instanceof PolicyRegex) return;
    // Point into the literal when its text is the pattern verbatim (no escapes), else at the literal's start.
    const literal = source.slice(patternNode.start, patternNode.end);
    const inner = literal.indexOf(patternNode.args);
    const offset = inner === -1 ? patternNode.start : patternNode.start + inner + compiled.offset;
    problem = {
      message: `invalid regular expression ${JSON.stringify(patternNode.args)}: ${compiled.message} (patterns use RE2 syntax)`,
      offset,
    };
  });
  return problem;
}

function checkCost(ast: unknown): { message: string; offset: number } | undefined {
  const estimate = estimateCost(ast);
  if (estimate <= maxExpressionCost) return undefined;
  return {
    message:
      `the expression could take about ${estimate.toExponential(1)} evaluation steps, over the limit of ` +
      `${maxExpressionCost}; nest fewer comprehensions (all, exists, map, filter) or iterate smaller lists`,
    offset: 0,
  };
}

const aliasNames = new RegExp(Object.values(builtinAliases).join('|'), 'g');
const originalName = Object.fromEntries(Object.entries(builtinAliases).map(([name, alias]) => [alias, name]));

const namesByPhase = new Map<Phase, CelNames>();

/** The names a "did you mean" may offer in `phase`: what the environment registered, under the names people type. */
function celNames(phase: Phase): CelNames {
  let names = namesByPhase.get(phase);
  if (names === undefined) {
    const definitions = celEnvironment(phase).getDefinitions();
    const functionNames = (receiver: boolean) => [
      ...new Set(
        definitions.functions
          .filter((definition) => (definition.receiverType !== null) === receiver)
          .map((definition) => originalName[definition.name] ?? definition.name),
      ),
    ];
    names = {
      variables: definitions.variables.filter((variable) => variable.description !== null).map((v) => v.name),
      functions: functionNames(false),
      methods: functionNames(true),
      fields: [...new Set(Object.values(celObjectTypes).flatMap((members) => Object.keys(members)))],
    };
    namesByPhase.set(phase, names);
  }
  return names;
}

interface CelErrorNode {
  op?: string;
  start?: number;
  end?: number;
  left?: { end?: number };
  right?: { start?: number };
  args?: unknown;
}

function failure(error: unknown, phase: Phase, source: string): ExpressionCheck {
  const celError = error as
    { summary?: string; message?: string; range?: { start: number }; node?: CelErrorNode } | undefined;
  const rawMessage = (celError?.summary ?? celError?.message ?? String(error))
    .replace(aliasNames, (alias) => originalName[alias] ?? alias)
    .replace(/\b(\w+Namespace)\./g, (text, type: string) => {
      const name = namespaceTypeNames.get(type);
      return name === undefined ? text : `${name}.`;
    });
  const unknownVariable = /^Unknown variable: (\w+)/.exec(rawMessage)?.[1];
  let message: string;
  if (unknownVariable === 'res' && phase !== 'on_http_response') {
    message = `${rawMessage} (res.* exists only in on_http_response and on_event_stream_message)`;
  } else if (unknownVariable === 'sse') {
    message = `${rawMessage} (sse.* exists only in on_event_stream_message)`;
  } else if ((unknownVariable === 'req' || unknownVariable === 'mcp') && phase === 'on_tcp_connect') {
    message = `${rawMessage} (on_tcp_connect runs before any HTTP request is read)`;
  } else if (rawMessage.includes('ClientIp in list')) {
    message = `${rawMessage} (compare addresses with inCidrRanges(conn.client_ip, [...]) or string(conn.client_ip) in [...])`;
  } else {
    message = explainCelMessage(rawMessage, celNames(phase));
  }
  return { ok: false, message, offset: errorOffset(source, celError?.node) ?? celError?.range?.start ?? 0 };
}

/**
 * cel-js places a type error at the start of the failing node, which for `a == b` or `a.f(x)` is the start of `a`.
 * People look at the operator or the method name instead, so the column points there when the node allows it.
 */
function errorOffset(source: string, node: CelErrorNode | undefined): number | undefined {
  if (node?.op === undefined) return undefined;
  const leftEnd = node.left?.end;
  const rightStart = node.right?.start;
  if (leftEnd !== undefined && rightStart !== undefined) {
    const operator = source.indexOf(node.op, leftEnd);
    return operator !== -1 && operator < rightStart ? operator : undefined;
  }
  if (node.op === 'rcall' && Array.isArray(node.args)) {
    const [name, receiver] = node.args as [unknown, { end?: number } | undefined];
    if (typeof name !== 'string' || receiver?.end === undefined) return undefined;
    const method = source.indexOf(name, receiver.end);
    return method === -1 || (node.end !== undefined && method >= node.end) ? undefined : method;
  }
  return undefined;
}
