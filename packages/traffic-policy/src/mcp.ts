import type { HeaderMap, McpCapability, McpFacts, McpKind, McpListFilter, McpListName } from './context.js';
import { maxMcpBatchElements } from './limits.js';

/**
 * MCP (JSON-RPC 2.0) facts read from the request body itself. The body is the authority: the `Mcp-Method` /
 * `Mcp-Name` headers of newer clients are only hints, and `checkMcpHeaders` refuses a request whose hints disagree
 * with its body, because the upstream runs what the body says.
 */

/**
 * Methods whose `params` name the tool, prompt or resource they act on (what `mcp.tool` reports), and the kind of
 * capability it is. completion/complete names its prompt or resource in `params.ref`, by the ref's type.
 */
const namedMethods: Readonly<Record<string, { field: 'name' | 'uri'; names: McpCapability } | 'ref'>> = {
  'tools/call': { field: 'name', names: 'tools' },
  'prompts/get': { field: 'name', names: 'prompts' },
  'resources/read': { field: 'uri', names: 'resources' },
  'resources/subscribe': { field: 'uri', names: 'resources' },
  'resources/unsubscribe': { field: 'uri', names: 'resources' },
  'completion/complete': 'ref',
};

const completionRefs: Readonly<Record<string, { field: 'name' | 'uri'; names: McpCapability }>> = {
  'ref/prompt': { field: 'name', names: 'prompts' },
  'ref/resource': { field: 'uri', names: 'resources' },
};

/** What a message's params name: a tool, prompt or resource (with its kind), or nothing. */
function namedTarget(
  method: string,
  params: Record<string, unknown> | undefined,
): { name: string; names?: McpCapability } {
  let naming = namedMethods[namedMethodOf(method) ?? ''];
  let holder = params;
  if (naming === 'ref') {
    holder = asRecord(params?.ref);
    const type = holder?.type;
    // Compared like methods: without case or surrounding spaces.
    const normalized = typeof type === 'string' ? type.trim().toLowerCase() : '';
    naming = Object.hasOwn(completionRefs, normalized) ? completionRefs[normalized] : undefined;
  }
  if (naming === undefined) return { name: '' };
  const name = holder?.[naming.field];
  // A named method that names nothing usable still counts as naming its kind: mcp-tools refuses it.
  return { name: typeof name === 'string' ? name : '', names: naming.names };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * The named method `method` stands for, compared without case or surrounding spaces: a lenient upstream might run
 * ` Tools/Call ` as tools/call, so the gateway judges it as one.
 */
function namedMethodOf(method: string): string | undefined {
  const normalized = method.trim().toLowerCase();
  return Object.hasOwn(namedMethods, normalized) ? normalized : undefined;
}

const emptyArguments: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * True when a body may carry JSON-RPC: its first significant byte (after an optional UTF-8 BOM and JSON whitespace) is
 * `{` or `[`. Deliberately independent of Content-Type, which a client can set to anything the upstream tolerates.
 */
export function mayBeJsonRpc(prefix: Uint8Array): boolean | undefined {
  let index = 0;
  if (prefix[0] === 0xef && prefix[1] === 0xbb && prefix[2] === 0xbf) index = 3;
  for (; index < prefix.length; index++) {
    const byte = prefix[index]!;
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b;
  }
  // Only whitespace so far: the caller must read more to know.
  return undefined;
}

/**
 * Recognizes an MCP message in a request. With a body, the facts come from the body alone (a JSON-RPC object or
 * batch); a body that is not JSON-RPC is not MCP. Without a body the `Mcp-Method`/`Mcp-Name` headers describe the
 * request (there is nothing for the upstream to run, so nothing to contradict them). Returns undefined when not MCP.
 */
export function detectMcp(headers: HeaderMap, body?: Uint8Array): McpFacts | undefined {
  return readMcp(headers, body).facts;
}

/**
 * `detectMcp`, plus why a body must be refused instead of judged: `malformed` is set when a lenient JSON-RPC server
 * could run a message the gateway cannot read exactly — JSON that `JSON.parse` rejects yet names a JSON-RPC member
 * (trailing data after a message, concatenated messages, JSON5 commas, comments or quotes: Go's `json.Decoder`,
 * Python's `raw_decode` and JSON5 parsers run the first value), or a member name in another case (`"Method"`,
 * `"paramſ"`: Go's encoding/json matches field names case-insensitively, so `{"method":"ping","METHOD":"tools/call"}`
 * is a tools/call there and a ping here).
 */
export function readMcp(
  headers: HeaderMap,
  body?: Uint8Array,
): { facts: McpFacts | undefined; malformed?: string; batchTooLarge?: true } {
  if (body === undefined || body.length === 0) return { facts: describeHeaders(headers) };
  const text = decoder.decode(body);
  let message: unknown;
  try {
    message = JSON.parse(text) as unknown;
  } catch {
    return namesJsonRpcMember(text)
      ? { facts: undefined, malformed: 'the body names JSON-RPC members but is not valid JSON' }
      : { facts: undefined };
  }
  // Refused before any element is described: the cost of judging a batch grows with its length.
  if (Array.isArray(message) && message.length > maxMcpBatchElements && message.some(isJsonRpcLike))
    return { facts: undefined, batchTooLarge: true };
  const facts = detectParsed(headers, message);
  if (facts === undefined) return { facts };
  const elements = Array.isArray(message) ? message : [message];
  for (const element of elements) {
    const problem = memberCaseProblem(element);
    if (problem !== undefined) return { facts, malformed: problem };
  }
  return { facts };
}

function describeHeaders(headers: HeaderMap): McpFacts | undefined {
  const protocolVersion = headers.get('mcp-protocol-version')?.[0] ?? '';
  const sessionId = headers.get('mcp-session-id')?.[0] ?? '';
  const headerMethod = headers.get('mcp-method')?.[0];
  if (headerMethod === undefined) return undefined;
  const naming = namedMethods[namedMethodOf(headerMethod) ?? ''];
  return {
    kind: 'request',
    method: headerMethod,
    tool: headers.get('mcp-name')?.[0] ?? '',
    ...(typeof naming === 'object' ? { names: naming.names } : {}),
    arguments: emptyArguments,
    protocolVersion,
    sessionId,
  };
}

function detectParsed(headers: HeaderMap, message: unknown): McpFacts | undefined {
  const protocolVersion = headers.get('mcp-protocol-version')?.[0] ?? '';
  const sessionId = headers.get('mcp-session-id')?.[0] ?? '';
  if (Array.isArray(message)) {
    const elements = message.filter(isJsonRpcLike);
    if (elements.length === 0) return undefined;
    // Every element of the array is judged, including those that are not JSON-RPC objects: the upstream sees them all.
    const messages = message.map((element) => describeMessage(element, protocolVersion, sessionId));
    return {
      kind: 'batch',
      method: joinUnique(messages.map((facts) => facts.method)),
      tool: joinUnique(messages.map((facts) => facts.tool)),
      arguments: emptyArguments,
      protocolVersion,
      sessionId,
      messages,
    };
  }
  return isJsonRpcLike(message) ? describeMessage(message, protocolVersion, sessionId) : undefined;
}

/**
 * Why the `Mcp-Method`/`Mcp-Name` headers contradict the body, or undefined when they agree (or are absent). A batch
 * or a response cannot be described by one method, so either header on one is a mismatch.
 */
export function checkMcpHeaders(headers: HeaderMap, facts: McpFacts | undefined, hasBody: boolean): string | undefined {
  const methods = headers.get('mcp-method');
  const names = headers.get('mcp-name');
  if (methods === undefined && names === undefined) return undefined;
  if (!hasBody) return undefined;
  if (facts === undefined) return 'Mcp-Method/Mcp-Name headers on a body that is not a JSON-RPC message';
  if (facts.kind === 'batch' || facts.kind === 'response')
    return `Mcp-Method/Mcp-Name headers on a JSON-RPC ${facts.kind}`;
  for (const method of methods ?? []) {
    if (method !== facts.method) return `the Mcp-Method header "${method}" does not match the body's "${facts.method}"`;
  }
  for (const name of names ?? []) {
    if (name !== facts.tool) return `the Mcp-Name header "${name}" does not match the body's "${facts.tool}"`;
  }
  return undefined;
}

/** A JSON-RPC id as the client sent it, for answering it; undefined when the message has none. */
export type JsonRpcId = string | number | null;

/** A JSON-RPC error response for `facts`' request (`id: null` when it has none, as JSON-RPC 2.0 §5 says). */
export function jsonRpcErrorBody(id: JsonRpcId | undefined, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });
}

/** The JSON-RPC error codes the gateway answers with. -32000 to -32099 are reserved for implementations. */
export const jsonRpcErrorCodes = {
  /** A list filter hides the tool, prompt or resource (the spec's code for an unknown tool is -32602). */
  notAllowed: -32602,
  /** deny / custom-response in the jsonrpc format. */
  denied: -32001,
  rateLimited: -32029,
} as const;

// TextDecoder drops a leading BOM, as a lenient upstream would; invalid UTF-8 becomes U+FFFD on both sides.
const decoder = new TextDecoder();

/** The members the gateway reads, per level of a message, in the only case it reads them. */
const messageMembers = ['jsonrpc', 'id', 'method', 'params', 'result', 'error'];
const paramsMembers = ['name', 'uri', 'arguments', 'ref'];
const refMembers = ['type', 'name', 'uri'];

/**
 * Case folding as Go's `strings.EqualFold` does it for these ASCII names: besides ASCII case, `ſ` (U+017F) is an `s`
 * and the Kelvin sign (U+212A) a `k`. Upper-then-lower maps both to ASCII.
 */
function fold(name: string): string {
  return name.toUpperCase().toLowerCase();
}

function caseVariant(record: Record<string, unknown>, members: readonly string[]): string | undefined {
  for (const key of Object.keys(record)) {
    // A member's own (lower-case) name folds to itself: no variant, and no two strings folded per key of a message.
    if (members.includes(key)) continue;
    if (members.includes(fold(key))) return key;
  }
  return undefined;
}

/** Why `element` is ambiguous to a server that matches member names without case, or undefined. */
function memberCaseProblem(element: unknown): string | undefined {
  const message = asRecord(element);
  if (message === undefined) return undefined;
  const levels: [Record<string, unknown> | undefined, readonly string[]][] = [[message, messageMembers]];
  const params = asRecord(message.params);
  levels.push([params, paramsMembers], [asRecord(params?.ref), refMembers]);
  for (const [record, members] of levels) {
    const variant = record === undefined ? undefined : caseVariant(record, members);
    if (variant !== undefined)
      return `the member "${variant}" is a case variant of "${fold(variant)}", which some servers read as that member`;
  }
  return undefined;
}

/**
 * True when text that is not valid JSON still has what a lenient parser would take for a JSON-RPC member: `method` or
 * `jsonrpc` as a key, quoted or not, in any case, with `\u`/`\x` escapes decoded. Invalid JSON without one (NDJSON
 * logs, a typo) is left to the upstream, as before.
 */
function namesJsonRpcMember(text: string): boolean {
  const unescaped = text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .replace(/\\x([0-9a-fA-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return /[{,]\s*(?:\/\*[\s\S]*?\*\/\s*|\/\/[^\n]*\n\s*)*["'`]?(?:method|jsonrpc)["'`]?\s*:/i.test(fold(unescaped));
}

/**
 * An object any JSON-RPC server could take for a message. Wider than the spec (a server may be lenient about
 * `jsonrpc`), because a message that escapes detection would escape the policy.
 */
function isJsonRpcLike(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  if ('jsonrpc' in value || 'method' in value || ('id' in value && ('result' in value || 'error' in value)))
    return true;
  // `"JSONRPC"` is `jsonrpc` to a server that matches names without case (then refused as a case variant).
  return Object.keys(value).some((key) => fold(key) === 'jsonrpc');
}

function describeMessage(value: unknown, protocolVersion: string, sessionId: string): McpFacts {
  const message: Record<string, unknown> =
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const id = jsonRpcIdOf(message.id);
  const hasMethod = 'method' in message;
  const kind: McpKind = hasMethod
    ? message.id === undefined
      ? 'notification'
      : 'request'
    : 'result' in message || 'error' in message
      ? 'response'
      : 'request';
  const method = typeof message.method === 'string' ? message.method : '';
  const params = asRecord(message.params);
  const target = namedTarget(method, params);
  const args = params?.arguments;
  const initializeVersion = method === 'initialize' ? params?.protocolVersion : undefined;
  return {
    kind,
    method,
    tool: target.name,
    ...(target.names === undefined ? {} : { names: target.names }),
    arguments:
      args !== null && typeof args === 'object' && !Array.isArray(args)
        ? (args as Record<string, unknown>)
        : emptyArguments,
    protocolVersion:
      protocolVersion === '' && typeof initializeVersion === 'string' ? initializeVersion : protocolVersion,
    sessionId,
    ...(id === undefined ? {} : { id }),
  };
}

function jsonRpcIdOf(value: unknown): JsonRpcId | undefined {
  return typeof value === 'string' || typeof value === 'number' || value === null ? value : undefined;
}

/** A batch's methods (or tools) for the log: each distinct non-empty value once, comma-separated, capped. */
function joinUnique(values: readonly string[]): string {
  return [...new Set(values.filter((value) => value !== ''))].join(',').slice(0, 1_024);
}

const listNames: readonly McpListName[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/**
 * Removes hidden entries from every list result in a JSON-RPC message (or batch of them) the upstream sent. Returns
 * the message to send on: the same value when nothing changed, so the caller can keep the original bytes.
 */
export function filterMcpLists(message: unknown, filters: readonly McpListFilter[]): unknown {
  if (Array.isArray(message)) {
    let changed = false;
    const filtered = message.map((element) => {
      const result = filterMcpLists(element, filters);
      if (result !== element) changed = true;
      return result;
    });
    return changed ? filtered : message;
  }
  if (message === null || typeof message !== 'object') return message;
  const result = (message as { result?: unknown }).result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return message;
  let replaced: Record<string, unknown> | undefined;
  for (const list of listNames) {
    const items = (result as Record<string, unknown>)[list];
    if (!Array.isArray(items)) continue;
    const kept = items.filter(
      (item): boolean =>
        item !== null &&
        typeof item === 'object' &&
        filters.every((filter) => filter.visible(list, item as Record<string, unknown>)),
    );
    if (kept.length !== items.length) (replaced ??= { ...(result as Record<string, unknown>) })[list] = kept;
  }
  return replaced === undefined ? message : { ...(message as Record<string, unknown>), result: replaced };
}
