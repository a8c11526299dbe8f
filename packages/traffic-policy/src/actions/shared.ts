import { z } from 'zod';
import type { ActionCompileContext } from '../action.js';
import type { HeaderMap, Outcome, PolicyContext, SyntheticResponse } from '../context.js';
import { errorCodeHeader, runtimeErrorCodes, type RuntimeErrorCode } from '../errors.js';
import type { CompiledTemplate } from '../interpolation.js';
import { PolicyRegex } from '../regex.js';
import { jsonRpcErrorBody } from '../mcp.js';

/** Schema pieces several actions share, so the same field reads the same everywhere. */

export const maxHeadersPerAction = 10;

export const enforceField = z
  .boolean()
  .default(true)
  .describe('When true (default) a failed check ends the request; when false it only sets result variables.');

export function statusCodeField(defaultStatus: number, description: string) {
  return z.int().min(100).max(599).default(defaultStatus).describe(description);
}

export const headerNameSchema = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name')
  .describe('An HTTP header name (case-insensitive).');

export function headersMapField(description: string) {
  return z
    .record(headerNameSchema, z.string().max(8192))
    .refine((headers) => Object.keys(headers).length <= maxHeadersPerAction, {
      message: `at most ${maxHeadersPerAction} headers`,
    })
    .describe(description);
}

export type HeaderTemplates = readonly (readonly [string, CompiledTemplate])[];

export function compileHeaderTemplates(
  headers: Record<string, string> | undefined,
  context: ActionCompileContext,
  field: string,
): HeaderTemplates {
  return Object.entries(headers ?? {}).map(
    ([name, value]) => [name.toLowerCase(), context.template(value, [field, name])] as const,
  );
}

export function renderHeaders(templates: HeaderTemplates, context: PolicyContext): HeaderMap {
  const headers: HeaderMap = new Map();
  for (const [name, template] of templates) appendHeader(headers, name, headerValue(template.render(context)));
  return headers;
}

/**
 * A header value built from request data (`${getQueryParam('q')[0]}` decodes `%0d%0a`) must not carry CR, LF or NUL:
 * Node refuses such a value (a 500) and a raw writer would let it split the response. They become spaces.
 */
export function headerValue(text: string): string {
  return /[\r\n\0]/.test(text) ? text.replace(/[\r\n\0]/g, ' ') : text;
}

/** Copy-on-write: CEL hands out the live value lists (getReqHeader, set-vars), so they must never change in place. */
export function appendHeader(headers: HeaderMap, lowerName: string, value: string): void {
  const values = headers.get(lowerName);
  headers.set(lowerName, values === undefined ? [value] : [...values, value]);
}

/** 1xx, 204 and 304 responses cannot carry a body (RFC 9110); a policy that writes one is rejected at save time. */
export function checkBodyAllowed(status: number, body: string | undefined, context: ActionCompileContext): void {
  if (body !== undefined && body !== '' && (status < 200 || status === 204 || status === 304)) {
    context.issue(
      'POLICY_CONFIG_INVALID',
      `a ${status} response cannot have a body; remove body or use another status_code`,
      ['body'],
    );
  }
}

/** The content type of a synthetic body whose action config sets none. */
export const defaultContentType = 'text/plain; charset=utf-8';

/**
 * The content type for a body template without a content-type header, decided from what the policy author wrote — the
 * template's leading literal text — never from the rendered body: `${getQueryParam('q')[0]}` rendering `<script>…`
 * must not turn a response into HTML (reflected XSS). `{`/`[` reads as JSON, `<` as HTML, anything else — including a
 * template that starts with `${` — as plain text.
 */
export function contentTypeOfTemplate(text: string): string {
  const start = text.trimStart();
  if (start.startsWith('${')) return defaultContentType;
  const first = start[0];
  if (first === '{' || first === '[') return 'application/json';
  if (first === '<') return 'text/html; charset=utf-8';
  return defaultContentType;
}

/** A policy-written response; `contentType` applies when the body is not empty and the headers name none. */
export function respond(
  status: number,
  body: string,
  headers: HeaderMap = new Map(),
  contentType: string = defaultContentType,
): Outcome {
  if (body !== '' && !headers.has('content-type')) headers.set('content-type', [contentType]);
  const response: SyntheticResponse = { status, headers, body };
  return { kind: 'respond', response };
}

/** A response the gateway generates for a failed check: carries the error code header and a plain message. */
export function respondWithError(code: RuntimeErrorCode, message: string, headers: HeaderMap = new Map()): Outcome {
  headers.set(errorCodeHeader, [code]);
  if (!headers.has('content-type')) headers.set('content-type', ['text/plain; charset=utf-8']);
  return {
    kind: 'respond',
    response: { status: runtimeErrorCodes[code].status, headers, body: message },
    errorCode: code,
  };
}

/**
 * Compiles a regular expression written in a policy with RE2 (regex.ts), as ngrok does: linear-time matching and
 * RE2's syntax. Returns the error message when the pattern does not compile.
 */
export function compileRegex(source: string): PolicyRegex | string {
  const compiled = PolicyRegex.compile(source);
  return compiled instanceof PolicyRegex
    ? compiled
    : `${compiled.message} (at offset ${compiled.offset}; patterns use RE2 syntax)`;
}

/**
 * How deny, custom-response and rate-limit answer: `http` (the configured status and body) or `jsonrpc`, which answers
 * an MCP request (one with a JSON-RPC id) with HTTP 200 and a JSON-RPC error carrying that id, because MCP clients
 * treat any other status as a transport failure the model never reads. Requests without an id (notifications,
 * responses, non-MCP requests) keep the `http` answer.
 */
export const formatField = z
  .enum(['http', 'jsonrpc'])
  .default('http')
  .describe(
    'http (default): the status and body as configured. jsonrpc: an MCP request gets HTTP 200 and a JSON-RPC error with its id.',
  );

/** The JSON-RPC answer to the current MCP message, or undefined when it has no id to answer. */
export function jsonRpcErrorOutcome(
  context: PolicyContext,
  code: number,
  message: string,
  headers: HeaderMap = new Map(),
  errorCode?: RuntimeErrorCode,
): Outcome | undefined {
  const mcp = context.mcp;
  if (mcp === undefined || mcp.kind !== 'request' || mcp.id === undefined) return undefined;
  headers.set('content-type', ['application/json']);
  if (errorCode !== undefined) headers.set(errorCodeHeader, [errorCode]);
  const response: SyntheticResponse = { status: 200, headers, body: jsonRpcErrorBody(mcp.id, code, message) };
  return errorCode === undefined
    ? { kind: 'respond', response, jsonRpc: true }
    : { kind: 'respond', response, errorCode, jsonRpc: true };
}

/**
 * custom-response in the jsonrpc format with a success status: the body becomes the JSON-RPC result when it is a JSON
 * object, else a tool-style result with the body as its text. Undefined when the message has no id to answer.
 */
export function jsonRpcResultOutcome(context: PolicyContext, body: string, headers: HeaderMap): Outcome | undefined {
  const mcp = context.mcp;
  if (mcp === undefined || mcp.kind !== 'request' || mcp.id === undefined) return undefined;
  let result: unknown;
  try {
    result = JSON.parse(body) as unknown;
  } catch {
    result = undefined;
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    result = { content: [{ type: 'text', text: body }] };
  headers.set('content-type', ['application/json']);
  return {
    kind: 'respond',
    response: { status: 200, headers, body: JSON.stringify({ jsonrpc: '2.0', id: mcp.id, result }) },
    jsonRpc: true,
  };
}

/**
 * The nginx-style named variables ngrok expands in redirect and url-rewrite targets (`$host`, `$uri`, `$args`,
 * `$arg_<name>`, …), read from the request URL. With a `from` pattern the values are escaped for the regex
 * replacement that follows (`$` doubled), so a query string can never inject a `$1`.
 */
const namedVariablePattern =
  /\$(arg_[A-Za-z0-9_]+|query_string|authority|is_args|is_user|scheme|args|host|port|user|uri)(?![A-Za-z0-9_])/g;

export function expandNamedVariables(text: string, context: PolicyContext, forReplacement: boolean): string {
  if (!text.includes('$')) return text;
  const url = new URL(context.url.toString());
  const query = url.search.startsWith('?') ? url.search.slice(1) : '';
  const userinfo = url.username + (url.password === '' ? '' : `:${url.password}`);
  return text.replace(namedVariablePattern, (_match, name: string) => {
    let value: string;
    if (name.startsWith('arg_')) value = url.searchParams.get(name.slice('arg_'.length)) ?? '';
    else if (name === 'args' || name === 'query_string') value = query;
    else if (name === 'authority') value = url.host;
    else if (name === 'is_args') value = query === '' ? '' : '?';
    else if (name === 'uri') value = url.pathname + url.search;
    else if (name === 'scheme') value = url.protocol.slice(0, -1);
    else if (name === 'host') value = url.hostname;
    else if (name === 'port') value = url.port || (url.protocol === 'https:' ? '443' : '80');
    else if (name === 'user') value = userinfo;
    else value = userinfo === '' ? '' : '@';
    return forReplacement ? value.replace(/\$/g, '$$$$') : value;
  });
}
