/**
 * Gatehouse's own CEL functions (TRAFFIC-POLICY.md, "Expressions (CEL)") on top of cel-js's built-ins.
 *
 * cel-js calls handlers with their arguments only, never the activation, so the request-dependent functions read the
 * request through a holder the evaluator points at the current request right before each synchronous evaluation.
 *
 * Built-ins already provided by cel-js (startsWith, endsWith, contains, trim, indexOf, lastIndexOf, substring, split,
 * size, lowerAscii, upperAscii) are not registered again: re-registering an overload throws. Two built-ins must not
 * run as cel-js ships them: `matches` (JavaScript's backtracking RegExp) and `join` (unbounded output). cel-environment
 * renames their calls in the parsed tree to the aliases below, which use RE2 and the size caps.
 */
import { type Environment } from '@marcbachmann/cel-js';
import { type ClientIp, type RequestUrl } from './cel-values.js';
import { type ContentType, type UserAgent } from './cel-request-values.js';
import {
  decodeBase64,
  decodeJson,
  encodeBase64,
  bytesToBase64,
  encodeJson,
  escapeUrl,
  parseUrlToMap,
  sha256Hex,
  unescapeUrl,
} from './codecs.js';
import { inCidrRange, inCidrRanges, isPrivateIp } from './ip.js';
import { charge, checkSize, walkCelAst } from './cel-cost.js';
import { PolicyRegex } from './regex.js';
import { registerCookieFunctions, type CelCookieScope } from './cel-cookies.js';
import { registerNamespaceFunctions } from './cel-namespaces.js';
import { registerListAndStringExtensions } from './cel-list-string-extensions.js';
import { registerSecretsNamespace, type CelSecretScope } from './cel-secrets.js';
import { conversionAliases, registerStandardLibraryGaps, timeAccessorAliases } from './cel-standard.js';

/** Names the parsed tree's `matches`/`join` calls are renamed to (cel-environment.ts); never shown to users. */
export const builtinAliases: Readonly<Record<string, string>> = Object.freeze({
  matches: 'gatehouseRe2Matches',
  join: 'gatehouseBoundedJoin',
  // Timestamp accessors with cel-go's fixed-offset time zones (cel-standard.ts).
  ...timeAccessorAliases,
  // int(), duration(), string() and timestamp() with cel-go's ranges and parsing (cel-standard.ts).
  ...conversionAliases,
});

/** What the request-dependent functions may ask about the request being evaluated. */
export interface CelRequestScope extends CelCookieScope, CelSecretScope {
  requestHeader(lowerName: string): readonly string[] | undefined;
  /** Undefined outside the response phase. */
  responseHeader(lowerName: string): readonly string[] | undefined;
  queryParam(name: string): readonly string[] | undefined;
}

/** Set by the evaluator around each evaluation; undefined means "no request": every lookup is empty. */
export interface CelScopeHolder {
  current: CelRequestScope | undefined;
}

const emptyList: readonly string[] = Object.freeze([]);

/**
 * Registers every Gatehouse function on `env` and returns it. The caller must have registered the `ClientIp` and
 * `RequestUrl` types first, because several overloads take them as receiver or argument.
 *
 * Each registration gets its own handler closure: cel-js caches a call adapter on the handler function object, and
 * that adapter differs between global and receiver calls, so one function shared by both forms would be called wrong.
 */
export function registerPolicyFunctions(env: Environment, holder: CelScopeHolder): Environment {
  registerRequestLookups(env, holder);
  registerBearerToken(env, holder);
  registerNetworkFunctions(env);
  registerStringLikeReceivers(env);
  registerStringFunctions(env);
  registerRegexAndJoin(env);
  registerCodecFunctions(env);
  // ngrok's cookie objects, namespaces (`hash.*`, `json.*`, …) and cel-go list/string extensions, one file each.
  registerCookieFunctions(env, holder);
  registerNamespaceFunctions(env);
  registerSecretsNamespace(env, holder);
  registerListAndStringExtensions(env);
  // Standard-library overloads cel-js lacks (bytes ordering, int(uint), timestamp/duration conversions).
  registerStandardLibraryGaps(env);
  return env;
}

/**
 * cel-js's own `matches` uses JavaScript's backtracking RegExp and `join` has no size cap; neither can be
 * re-registered ("overlaps"). The parser's tree is plain data, so the calls are renamed to Gatehouse's RE2 and bounded
 * versions before the checker resolves overloads. cel-environment maps the names back in error messages.
 */
export function renameBuiltins(ast: unknown): void {
  walkCelAst(ast, (node) => {
    if ((node.op === 'rcall' || node.op === 'call') && Array.isArray(node.args)) {
      const args = node.args as unknown[];
      const name = args[0];
      if (typeof name !== 'string' || !Object.hasOwn(builtinAliases, name)) return;
      // int()/duration()/string()/timestamp() are global conversions; `rand.int()` is a namespace function of the same name.
      if (node.op === 'rcall' && Object.hasOwn(conversionAliases, name)) return;
      args[0] = builtinAliases[name];
    }
  });
}

function registerRequestLookups(env: Environment, holder: CelScopeHolder): void {
  const lookups: readonly [
    suffix: string,
    read: (scope: CelRequestScope, name: string) => readonly string[] | undefined,
  ][] = [
    // Header names are case-insensitive on the wire and the scope keys them lower-case.
    ['ReqHeader', (scope, name) => scope.requestHeader(name.toLowerCase())],
    ['ResHeader', (scope, name) => scope.responseHeader(name.toLowerCase())],
    // Query parameter names are case-sensitive.
    ['QueryParam', (scope, name) => scope.queryParam(name)],
  ];
  for (const [suffix, read] of lookups) {
    const values = (name: string): readonly string[] => {
      const scope = holder.current;
      return (scope === undefined ? undefined : read(scope, name)) ?? emptyList;
    };
    env.registerFunction(`has${suffix}(string): bool`, (name: string) => values(name).length > 0);
    env.registerFunction(`get${suffix}(string): list<string>`, (name: string) => values(name));
  }
}

/**
 * `getReqBearerToken()`: the credential of `Authorization: Bearer <token>` in one canonical form, so a rate-limit
 * bucket or a comparison cannot be dodged by writing the same token differently. The scheme is matched
 * case-insensitively (RFC 9110 §11.1) and surrounding whitespace is dropped — exactly what jwt-validation accepts — and
 * a missing header or another scheme gives '' (never an error). The first Authorization header counts, as in
 * jwt-validation.
 */
function registerBearerToken(env: Environment, holder: CelScopeHolder): void {
  env.registerFunction('getReqBearerToken(): string', () => {
    const header = holder.current?.requestHeader('authorization')?.[0];
    return header === undefined ? '' : bearerTokenOf(header);
  });
}

export function bearerTokenOf(header: string): string {
  const match = /^[ \t]*bearer[ \t]+(.*)$/is.exec(header);
  return match === null ? '' : match[1]!.trim();
}

function registerNetworkFunctions(env: Environment): void {
  env
    .registerFunction('inCidrRange(string, string): bool', (ip: string, cidr: string) => inCidrRange(ip, cidr))
    .registerFunction('inCidrRange(ClientIp, string): bool', (ip: ClientIp, cidr: string) =>
      inCidrRange(ip.address, cidr),
    )
    .registerFunction('inCidrRanges(string, list<string>): bool', (ip: string, cidrs: readonly unknown[]) =>
      inCidrRanges(ip, onlyStrings(cidrs)),
    )
    .registerFunction('inCidrRanges(ClientIp, list<string>): bool', (ip: ClientIp, cidrs: readonly unknown[]) =>
      inCidrRanges(ip.address, onlyStrings(cidrs)),
    )
    .registerFunction('string.isPrivateIp(): bool', (ip: string) => isPrivateIp(ip))
    .registerFunction('ClientIp.isPrivateIp(): bool', (ip: ClientIp) => isPrivateIp(ip.address));
}

/** A `list<dyn>` can reach a `list<string>` parameter at runtime; non-strings are invalid CIDRs, and those are skipped. */
function onlyStrings(values: readonly unknown[]): readonly string[] {
  return values.every((value) => typeof value === 'string')
    ? values
    : values.filter((value) => typeof value === 'string');
}

/** `conn.client_ip` and `req.url` read as strings in policies, so they answer the usual string methods. */
function registerStringLikeReceivers(env: Environment): void {
  registerStringLikeType(env, 'ClientIp', (ip: ClientIp) => ip.address);
  registerStringLikeType(env, 'RequestUrl', (url: RequestUrl) => url.toString());
  registerStringLikeType(env, 'UserAgent', (agent: UserAgent) => agent.raw);
  registerStringLikeType(env, 'ContentType', (type: ContentType) => type.mediaType);
}

function registerStringLikeType<T>(env: Environment, typeName: string, text: (value: T) => string): void {
  env
    .registerFunction(`${typeName}.startsWith(string): bool`, (value: T, prefix: string) =>
      text(value).startsWith(prefix),
    )
    .registerFunction(`${typeName}.endsWith(string): bool`, (value: T, suffix: string) => text(value).endsWith(suffix))
    .registerFunction(`${typeName}.contains(string): bool`, (value: T, part: string) => text(value).includes(part))
    .registerFunction(`${typeName}.${builtinAliases.matches}(string): bool`, (value: T, pattern: string) =>
      re2Matches(text(value), pattern),
    )
    .registerFunction(`${typeName}.size(): int`, (value: T) => BigInt(countCodePoints(text(value))))
    .registerFunction(`size(${typeName}): int`, (value: T) => BigInt(countCodePoints(text(value))))
    .registerFunction(`${builtinAliases.string}(${typeName}): string`, (value: T) => text(value));
}

/**
 * cel-go's `matches`: RE2 syntax, unanchored, linear time. A literal pattern was already checked at save time; a
 * pattern built at runtime that does not compile is a runtime error (the rule fails), never a silent non-match.
 */
export function re2Matches(text: string, pattern: string): boolean {
  const regex = PolicyRegex.compile(pattern);
  if (!(regex instanceof PolicyRegex))
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${regex.message}`);
  // RE2 runs in time linear in the input; charge it like any other work proportional to size.
  if (text.length >= 100) charge(Math.floor(text.length / 100));
  return regex.test(text);
}

function registerRegexAndJoin(env: Environment): void {
  const matches = builtinAliases.matches;
  const join = builtinAliases.join;
  env
    .registerFunction(`string.${matches}(string): bool`, (text: string, pattern: string) => re2Matches(text, pattern))
    .registerFunction(`${matches}(string, string): bool`, (text: string, pattern: string) => re2Matches(text, pattern))
    .registerFunction(`list<string>.${join}(): string`, (list: readonly unknown[]) => boundedJoin(list, ''))
    .registerFunction(`list<string>.${join}(string): string`, (list: readonly unknown[], separator: string) =>
      boundedJoin(list, separator),
    );
}

/** `join` with its result size checked before it is built (a list of large strings must not allocate gigabytes). */
export function boundedJoin(list: readonly unknown[], separator: string): string {
  let size = separator.length * Math.max(list.length - 1, 0);
  for (const item of list) {
    if (typeof item !== 'string') throw new Error('join(): the list must contain only strings');
    size += item.length;
  }
  checkSize('string', size);
  return list.join(separator);
}

/** CEL sizes strings in code points, like cel-js's own `size(string)`. */
function countCodePoints(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // A high surrogate followed by a low one is a single code point.
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

function registerStringFunctions(env: Environment): void {
  env
    .registerFunction('string.lower(): string', (text: string) => text.toLowerCase())
    .registerFunction('string.upper(): string', (text: string) => text.toUpperCase())
    .registerFunction('lower(string): string', (text: string) => text.toLowerCase())
    .registerFunction('upper(string): string', (text: string) => text.toUpperCase())
    .registerFunction('string.replace(string, string): string', (text: string, from: string, to: string) =>
      replaceOccurrences(text, from, to, -1),
    )
    .registerFunction(
      'string.replace(string, string, int): string',
      (text: string, from: string, to: string, limit: bigint) =>
        replaceOccurrences(text, from, to, limit < 0n ? -1 : Number(limit)),
    );
}

/**
 * Replaces up to `limit` occurrences (all when negative), left to right without overlap, as cel-go's strings
 * extension does. An empty `from` matches before every code point and at the end, like Go's strings.Replace.
 */
export function replaceOccurrences(text: string, from: string, to: string, limit: number): string {
  if (limit === 0) return text;
  // Size the result before building it: nine chained replaces of 'a' by a long string would otherwise allocate
  // gigabytes in one request (issue 12).
  if (to.length > from.length) {
    const occurrences = countOccurrences(text, from, limit);
    checkSize('string', text.length + occurrences * (to.length - from.length));
  }
  let result = '';
  let replaced = 0;
  if (from === '') {
    let consumed = 0;
    for (const character of text) {
      if (limit > 0 && replaced >= limit) return result + text.slice(consumed);
      result += to + character;
      consumed += character.length;
      replaced++;
    }
    return limit > 0 && replaced >= limit ? result : result + to;
  }
  let position = 0;
  while (limit < 0 || replaced < limit) {
    const found = text.indexOf(from, position);
    if (found === -1) break;
    result += text.slice(position, found) + to;
    position = found + from.length;
    replaced++;
  }
  return result + text.slice(position);
}

function countOccurrences(text: string, from: string, limit: number): number {
  if (from === '') {
    const points = countCodePoints(text) + 1;
    return limit < 0 ? points : Math.min(points, limit);
  }
  let count = 0;
  for (
    let at = text.indexOf(from);
    at !== -1 && (limit < 0 || count < limit);
    at = text.indexOf(from, at + from.length)
  )
    count++;
  return count;
}

function registerCodecFunctions(env: Environment): void {
  env
    .registerFunction('encodeBase64(string): string', (text: string) => encodeBase64(text))
    .registerFunction('encodeBase64(bytes): string', (bytes: Uint8Array) => bytesToBase64(bytes))
    .registerFunction('string.encodeBase64(): string', (text: string) => encodeBase64(text))
    .registerFunction('decodeBase64(string): string', (text: string) => decodeBase64(text))
    .registerFunction('string.decodeBase64(): string', (text: string) => decodeBase64(text))
    .registerFunction('sha256(string): string', (text: string) => sha256Hex(text))
    .registerFunction('sha256(bytes): string', (bytes: Uint8Array) => sha256Hex(bytes))
    .registerFunction('string.sha256(): string', (text: string) => sha256Hex(text))
    .registerFunction('encodeJson(dyn): string', (value: unknown) => encodeJson(value))
    .registerFunction('decodeJson(string): dyn', (text: string) => decodeJson(text))
    .registerFunction('string.decodeJson(): dyn', (text: string) => decodeJson(text))
    .registerFunction('parseUrl(string): map<string, dyn>', (text: string) => parseUrlToMap(text))
    .registerFunction('string.parseUrl(): map<string, dyn>', (text: string) => parseUrlToMap(text))
    .registerFunction('escapeUrl(string): string', (text: string) => escapeUrl(text))
    .registerFunction('string.escapeUrl(): string', (text: string) => escapeUrl(text))
    .registerFunction('unescapeUrl(string): string', (text: string) => unescapeUrl(text))
    .registerFunction('string.unescapeUrl(): string', (text: string) => unescapeUrl(text));
}
