import { celAstOf, compileExpression, evaluateOutsideRequest, type CompiledExpression } from './cel-environment.js';
import { walkCelAst } from './cel-cost.js';
import type { CelRequestScope } from './cel-functions.js';
import type { SecretReference } from './cel-secrets.js';
import { celToJson } from './codecs.js';
import type { Phase, PolicyContext } from './context.js';
import { evaluateOrFail } from './expression-failure.js';

/**
 * `${expr}` templates in action configs. Compiled once; at runtime a failing expression is recorded on the request and
 * thrown as an ExpressionFailure, which the evaluator answers with POLICY_RUNTIME_ERROR (fail closed: an empty string
 * in a header, a redirect or a forward target would silently change what the policy does).
 */
export interface CompiledTemplate {
  readonly isStatic: boolean;
  /** The text itself when static. */
  readonly text: string;
  render(context: PolicyContext): string;
  /** The expression's own value when the template is exactly `${expr}`; otherwise the rendered string. */
  value(context: PolicyContext): unknown;
  /** Its `secrets.get` calls, offsets in `text`. */
  readonly secretReferences: readonly SecretReference[];
  /** The root variables its expressions read (`req`, `conn`, …); empty for a template of literals and secrets. */
  readonly variables: ReadonlySet<string>;
  /** Renders without a request (fields computed when the configuration is applied); throws on failure. */
  renderOutsideRequest(scope: CelRequestScope): string;
}

export interface TemplateProblem {
  message: string;
  /** Offset in the template text where the problem starts. */
  offset: number;
}

type Segment = string | { expression: CompiledExpression; offset: number };

export function compileTemplate(
  text: string,
  phase: Phase,
): { ok: true; template: CompiledTemplate } | { ok: false; problems: TemplateProblem[] } {
  const scanned = scanTemplate(text);
  if ('problem' in scanned) return { ok: false, problems: [scanned.problem] };
  const problems: TemplateProblem[] = [];
  const segments: Segment[] = [];
  for (const part of scanned.parts) {
    if (typeof part === 'string') {
      segments.push(part);
      continue;
    }
    const check = compileExpression(part.source, phase);
    if (check.ok) segments.push({ expression: check.expression, offset: part.offset });
    else problems.push({ message: check.message, offset: part.offset + check.offset });
  }
  if (problems.length > 0) return { ok: false, problems };
  // A copy without the spare capacity `push` left: the template lives as long as its compiled policy.
  return { ok: true, template: buildTemplate(text, segments.slice()) };
}

/** A template for a literal text (used when a field is not marked as interpolated). */
export function staticTemplate(text: string): CompiledTemplate {
  return buildTemplate(text, [text]);
}

const noReferences: readonly SecretReference[] = Object.freeze([]);
const noVariables: ReadonlySet<string> = new Set();

function buildTemplate(text: string, segments: Segment[]): CompiledTemplate {
  if (segments.every((segment) => typeof segment === 'string')) {
    const joined = segments.join('');
    return {
      isStatic: true,
      text: joined,
      render: () => joined,
      value: () => joined,
      secretReferences: noReferences,
      variables: noVariables,
      renderOutsideRequest: () => joined,
    };
  }
  const secretReferences: SecretReference[] = [];
  const variables = new Set<string>();
  for (const segment of segments) {
    if (typeof segment === 'string') continue;
    for (const reference of segment.expression.secretReferences)
      secretReferences.push({ ...reference, offset: segment.offset + reference.offset });
    for (const name of rootVariables(segment.expression)) variables.add(name);
  }
  const only = segments.length === 1 ? segments[0] : undefined;
  const render = (context: PolicyContext): string => {
    let result = '';
    for (const segment of segments) {
      result += typeof segment === 'string' ? segment : stringifyCelValue(evaluateOrFail(segment.expression, context));
    }
    return result;
  };
  return {
    isStatic: false,
    text,
    render,
    value:
      only !== undefined && typeof only !== 'string' ? (context) => evaluateOrFail(only.expression, context) : render,
    secretReferences: secretReferences.length === 0 ? noReferences : Object.freeze(secretReferences),
    variables: variables.size === 0 ? noVariables : variables,
    renderOutsideRequest(scope) {
      let result = '';
      for (const segment of segments)
        result +=
          typeof segment === 'string' ? segment : stringifyCelValue(evaluateOutsideRequest(segment.expression, scope));
      return result;
    },
  };
}

/** The request-bound variables an expression reads (`req`, `conn`, `vars`, …), from its checked tree. */
const requestVariables = new Set(['req', 'res', 'conn', 'endpoint', 'time', 'vars', 'actions', 'mcp']);

function rootVariables(expression: CompiledExpression): string[] {
  const found: string[] = [];
  walkCelAst(celAstOf(expression), (node) => {
    if (node.op === 'id' && typeof node.args === 'string' && requestVariables.has(node.args)) found.push(node.args);
  });
  return found;
}

/**
 * How a CEL value reads inside a string: strings as they are, numbers and bools as written, bytes as UTF-8 text,
 * timestamps and durations in their CEL text form (RFC 3339, `90s`), `conn.client_ip` and `req.url` as their string,
 * and lists and maps (including action results) as JSON. Never throws: a value with no text form renders as ''.
 */
export function stringifyCelValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'bigint':
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return '';
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Uint8Array) return utf8Decoder.decode(value);
      let json: unknown;
      try {
        json = celToJson(value);
      } catch {
        return '';
      }
      return typeof json === 'string' ? json : JSON.stringify(json);
    }
  }
}

const utf8Decoder = new TextDecoder();

type ScanResult = { parts: (string | { source: string; offset: number })[] } | { problem: TemplateProblem };

/** Splits text into literal parts and `${...}` expressions, honouring braces and quotes inside the expression. */
export function scanTemplate(text: string): ScanResult {
  const parts: (string | { source: string; offset: number })[] = [];
  let literalStart = 0;
  let index = text.indexOf('${');
  while (index !== -1) {
    if (index > literalStart) parts.push(text.slice(literalStart, index));
    const start = index + 2;
    let depth = 1;
    let quote: string | undefined;
    let position = start;
    for (; position < text.length && depth > 0; position++) {
      const character = text[position];
      if (quote !== undefined) {
        if (character === '\\') position++;
        else if (character === quote) quote = undefined;
      } else if (character === '"' || character === "'") quote = character;
      else if (character === '{') depth++;
      else if (character === '}') depth--;
    }
    if (depth > 0) return { problem: { message: 'This `${` has no closing `}`.', offset: index } };
    const source = text.slice(start, position - 1);
    if (source.trim() === '')
      return { problem: { message: '`${}` is empty: put a CEL expression inside.', offset: index } };
    parts.push({ source, offset: start });
    literalStart = position;
    index = text.indexOf('${', position);
  }
  if (literalStart < text.length) parts.push(text.slice(literalStart));
  return { parts };
}
