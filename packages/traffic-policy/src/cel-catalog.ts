/**
 * What CEL offers a policy author in each phase — variables, their fields, functions, methods and macros — with the
 * documentation the editor shows. Built from the live CEL environment (so a registered function can never be missing)
 * plus the field table of cel-types.ts; the only hand-written part is the prose in `functionDocs`, and a test fails
 * when a registered function has none.
 */
import { builtinAliases } from './cel-functions.js';
import { celEnvironment } from './cel-environment.js';
import { namespaceTypeNames } from './cel-namespaces.js';
import { celObjectTypes, type CelFieldDeclaration, type CelObjectTypeName } from './cel-types.js';
import type { Phase } from './context.js';

export type CelCatalogKind = 'variable' | 'field' | 'function' | 'method' | 'macro';

export interface CelCatalogItem {
  readonly name: string;
  readonly kind: CelCatalogKind;
  /** The type of a variable or field, or the overloads of a function (`hasReqHeader(string): bool`). */
  readonly detail: string;
  /** Markdown. */
  readonly documentation: string;
  /** For methods: the receiver types (`string`, `list`, …). */
  readonly receivers?: readonly string[];
}

export interface CelCatalog {
  readonly variables: readonly CelCatalogItem[];
  /** Object type name → its fields. */
  readonly fields: Readonly<Record<string, readonly CelCatalogItem[]>>;
  readonly functions: readonly CelCatalogItem[];
  readonly methods: readonly CelCatalogItem[];
  readonly macros: readonly CelCatalogItem[];
  /** Namespace type name (`HashNamespace`) → its functions, named as typed after the dot (`md5`). */
  readonly namespaces: Readonly<Record<string, readonly CelCatalogItem[]>>;
}

/** Prose per function or method name. Keys are the names people type (`matches`, not its internal alias). */
export const functionDocs: Readonly<Record<string, string>> = {
  hasReqHeader: 'True when the request has the header (name case-insensitive). `hasReqHeader("authorization")`',
  getReqHeader: 'The values of a request header (name case-insensitive); an empty list when absent.',
  hasResHeader: 'True when the response has the header. Response phase only.',
  getResHeader: 'The values of a response header; an empty list when absent. Response phase only.',
  hasQueryParam: 'True when the query string has the parameter.',
  getQueryParam: 'The decoded values of a query parameter; an empty list when absent.',
  hasReqCookie: 'True when the request has the cookie.',
  getReqCookie: 'The values of a request cookie; an empty list when absent.',
  getReqBearerToken: 'The token of `Authorization: Bearer <token>`, trimmed; `""` when absent or another scheme.',
  inCidrRange: 'True when the IP is inside the CIDR (IPv4 or IPv6). `inCidrRange(conn.client_ip, "10.0.0.0/8")`',
  inCidrRanges: 'True when the IP is inside any of the CIDRs; invalid CIDRs are ignored.',
  isPrivateIp: 'True for private, loopback and link-local addresses. `conn.client_ip.isPrivateIp()`',
  lower: 'The string in lower case.',
  upper: 'The string in upper case.',
  lowerAscii: 'The string with ASCII letters in lower case.',
  upperAscii: 'The string with ASCII letters in upper case.',
  trim: 'The string without leading and trailing whitespace.',
  replace: 'Replaces occurrences of a substring: `s.replace(from, to)` or `s.replace(from, to, limit)`.',
  split: 'Splits the string on a separator into a list.',
  join: 'Joins a list of strings, optionally with a separator: `list.join(", ")`.',
  substring: 'The part of the string from a start index (to an end index), in code points.',
  indexOf: 'The index of the first occurrence of a substring, or -1.',
  lastIndexOf: 'The index of the last occurrence of a substring, or -1.',
  startsWith: 'True when the string starts with the prefix. `req.url.path.startsWith("/api/")`',
  endsWith: 'True when the string ends with the suffix.',
  contains: 'True when the string contains the substring.',
  matches: 'True when the string matches the RE2 regular expression (anywhere unless anchored with ^…$).',
  size: 'The length of a string (code points), list or map.',
  encodeBase64: 'The Base64 encoding of the string or bytes.',
  decodeBase64: 'Decodes a Base64 string.',
  sha256: 'The SHA-256 of the string or bytes, as lower-case hex.',
  encodeJson: 'The value encoded as JSON text.',
  decodeJson: 'Parses JSON text into a value.',
  parseUrl: 'Splits a URL into a map: scheme, host, port, path, query, query_params.',
  escapeUrl: 'Percent-encodes the string for use in a URL.',
  unescapeUrl: 'Decodes percent-encoding.',
  bool: 'Converts to bool (`"true"` → true).',
  bytes: 'Converts a string to bytes.',
  double: 'Converts to a double.',
  int: 'Converts to an int (strings, doubles, timestamps).',
  uint: 'Converts to an unsigned int.',
  string: 'Converts to a string.',
  timestamp: 'Parses an RFC 3339 string into a timestamp. `timestamp(time.now)`',
  duration: 'Parses a duration such as `"1h30m"`.',
  dyn: 'Marks a value as dynamically typed, to skip static type checks.',
  hasResCookie: 'True when the response sets the cookie. Response phase only.',
  getResCookie:
    'The response cookie with the longest `path` (a `Cookie`: `.value`, `.expires`, …). Response phase only.',
  isJson: 'True when the string is valid JSON. `isJson(req.url.query)` or `s.isJson()`',
  isURL: 'True when the string is an absolute URL with a host.',
  isQueryString: 'True when the string is `name[=value]` pairs joined by `&`, without whitespace or bad escapes.',
  charAt: "The code point at an index: `'abc'.charAt(1)` is `'b'`; `''` at the end; an error past it.",
  md5: 'The MD5 of the string as lower-case hex (`s.md5()`, `hash.md5(s)`); `"base64"` as argument for Base64.',
  sha1: 'The SHA-1 of the string as lower-case hex (`s.sha1()`, `hash.sha1(s)`).',
  sha512: 'The SHA-512 of the string as lower-case hex (`s.sha512()`, `hash.sha512(s)`).',
  crc32: 'The CRC-32 (IEEE) of the string as hex (`s.crc32()`, `hash.crc32(s)`).',
  crc64: 'The CRC-64 (ISO) of the string as hex (`s.crc64()`, `hash.crc64(s)`).',
  xxhash64: 'The XXH64 (seed 0) of the string as hex (`s.xxhash64()`, `hash.xxhash64(s)`).',
  decodeQueryString: 'Parses a query string into a map of first values: `s.decodeQueryString()`.',
  encodeQueryString: 'Encodes a map as a query string, names sorted: `m.encodeQueryString()`.',
  distinct: 'The list with each value once, in first-seen order.',
  flatten: 'Splices nested lists in, one level or `flatten(depth)` levels.',
  format: "Formats values into a string: `'%s has %d'.format([name, count])`.",
  reverse: 'The string with its code points in reverse order.',
  slice: 'The elements from one index (included) to another (excluded): `l.slice(1, 3)`.',
  sort: 'The list in ascending order; elements must be of one comparable type.',
  sortBy: 'The list ordered by a key expression over each element: `l.sortBy(x, x.name)` (stable).',
  type: 'The type of a value.',
  json: 'Parses bytes as JSON.',
  hex: 'The bytes as lower-case hex.',
  base64: 'The bytes as Base64.',
  at: 'The byte at an index.',
  getDate: 'Day of month of a timestamp, 1-based (optionally in a time zone).',
  getDayOfMonth: 'Day of month of a timestamp, 0-based.',
  getDayOfWeek: 'Day of week of a timestamp, 0 = Sunday.',
  getDayOfYear: 'Day of year of a timestamp, 0-based.',
  getFullYear: 'Year of a timestamp.',
  getHours: 'Hours of a timestamp or duration.',
  getMilliseconds: 'Milliseconds of a timestamp or duration.',
  getMinutes: 'Minutes of a timestamp or duration.',
  getMonth: 'Month of a timestamp, 0 = January.',
  getSeconds: 'Seconds of a timestamp or duration.',
  hasValue: 'True when the optional holds a value.',
  value: 'The value of an optional (an error when empty).',
  none: 'An empty optional.',
  of: 'An optional holding the value.',
  or: 'This optional if it has a value, else the other.',
  orValue: 'The optional’s value, else the default.',
  has: 'True when a field or map key is present: `has(req.headers.authorization)`.',
  all: 'True when the predicate holds for every element: `list.all(x, x.startsWith("a"))`.',
  exists: 'True when the predicate holds for at least one element: `list.exists(x, x == "admin")`.',
  exists_one: 'True when the predicate holds for exactly one element.',
  map: 'A list of each element transformed: `list.map(x, x.lower())` (or `list.map(x, filter, x)`).',
  filter: 'The elements for which the predicate holds: `list.filter(x, x != "")`.',
  bind: 'Binds a name to a value inside an expression: `cel.bind(v, expr, body)`.',
  // Namespaced functions, keyed as written in a policy (cel-namespaces.ts).
  'base64.decode': "Decodes standard, padded Base64 into bytes: `base64.decode('aGVsbG8=')`.",
  'base64.encode': 'The Base64 (standard, padded) of bytes or of a string as UTF-8: `base64.encode(s)`.',
  'basic_auth.encode': 'An `Authorization` value for HTTP Basic: `basic_auth.encode(user, password)` is `"Basic …"`.',
  'secrets.get':
    "The value of a secret in a vault: `secrets.get('vault', 'name')` (string literals; the value never appears in logs).",
  'hash.md5': 'The MD5 of the string as lower-case hex; `hash.md5(s, "base64")` for Base64.',
  'hash.sha1': 'The SHA-1 of the string as lower-case hex; `hash.sha1(s, "base64")` for Base64.',
  'hash.sha256': 'The SHA-256 of the string as lower-case hex; `hash.sha256(s, "base64")` for Base64.',
  'hash.sha512': 'The SHA-512 of the string as lower-case hex; `hash.sha512(s, "base64")` for Base64.',
  'hash.crc32': 'The CRC-32 (IEEE) of the string as hex; `hash.crc32(s, "base64")` for Base64.',
  'hash.crc64': 'The CRC-64 (ISO) of the string as hex; `hash.crc64(s, "base64")` for Base64.',
  'hash.xxhash64': 'The XXH64 (seed 0) of the string as hex; `hash.xxhash64(s, "base64")` for Base64.',
  'json.decode': 'Parses JSON text into a value: `json.decode(s).user`.',
  'json.encode': 'The value encoded as JSON text: `json.encode({"a": 1})`.',
  'lists.range': 'The list of ints from 0 to n − 1: `lists.range(3)` is `[0, 1, 2]`.',
  'queryString.decode': 'Parses a query string into a map of first values: `queryString.decode(q)["q"]`.',
  'queryString.encode': 'Encodes a map as a query string, names sorted: `queryString.encode({"a": "b"})`.',
  'rand.double': 'A random double in [0, 1).',
  'rand.int': 'A random int in [min, max], both included; 0 or 1 without arguments: `rand.int(1, 6)`.',
  'strings.quote': 'The string as a double-quoted literal with escapes (Go `strconv.Quote`).',
  'url.escape': 'Percent-encodes the string for use in a URL.',
  'url.unescape': 'Decodes percent-encoding.',
  'url.parse': 'Splits a URL into a map: scheme, host, port, path, query, query_params.',
};

/** Signature names Gatehouse uses internally; they appear in the catalog under the name people type. */
const aliasToName = Object.fromEntries(Object.entries(builtinAliases).map(([name, alias]) => [alias, name]));

const catalogs = new Map<Phase, CelCatalog>();

/** The catalog of `phase` (cached: the environment does not change at runtime). */
export function celCatalog(phase: Phase): CelCatalog {
  let catalog = catalogs.get(phase);
  if (catalog === undefined) catalogs.set(phase, (catalog = buildCatalog(phase)));
  return catalog;
}

function buildCatalog(phase: Phase): CelCatalog {
  const definitions = celEnvironment(phase).getDefinitions();
  const variables: CelCatalogItem[] = definitions.variables
    // Type names (`string`, `int`, …) and namespaces (`google`, `optional`, `cel`) are variables to cel-js, not
    // something a policy reads.
    .filter((variable) => variable.description !== null)
    .map((variable) => ({
      name: variable.name,
      kind: 'variable',
      detail: variable.type,
      documentation: variable.description ?? '',
    }));
  const fields: Record<string, CelCatalogItem[]> = {};
  const objectTypes: Record<string, Record<string, CelFieldDeclaration>> = celObjectTypes;
  for (const [typeName, members] of Object.entries(objectTypes)) {
    fields[typeName] = Object.entries(members).map(([name, field]) => ({
      name,
      kind: 'field',
      detail: field.type,
      documentation: field.documentation,
    }));
  }
  const namespaceFunctions = new Map<string, { namespaceType: string; name: string; signatures: string[] }>();
  const grouped = new Map<
    string,
    { name: string; kind: CelCatalogKind; signatures: string[]; receivers: Set<string> }
  >();
  for (const definition of definitions.functions) {
    const name = aliasToName[definition.name] ?? definition.name;
    const isMacro = definition.params.some((param) => param.type === 'ast');
    const kind: CelCatalogKind = isMacro ? 'macro' : definition.receiverType === null ? 'function' : 'method';
    // Namespaced helpers are reached through their namespace variable (`hash.`), never offered bare; cel-js's own
    // (optional.of, cel.bind) are not offered at all.
    const namespace = definition.receiverType === null ? undefined : namespaceTypeNames.get(definition.receiverType);
    if (namespace !== undefined) {
      const entry = namespaceFunctions.get(`${definition.receiverType}.${name}`) ?? {
        namespaceType: definition.receiverType!,
        name,
        signatures: [],
      };
      entry.signatures.push(definition.signature.replace(`${definition.receiverType}.`, `${namespace}.`));
      namespaceFunctions.set(`${definition.receiverType}.${name}`, entry);
      continue;
    }
    if (definition.receiverType?.endsWith('Namespace')) continue;
    const key = `${kind}:${name}`;
    const entry = grouped.get(key) ?? { name, kind, signatures: [], receivers: new Set<string>() };
    entry.signatures.push(definition.signature.replace(definition.name, name));
    if (definition.receiverType !== null) entry.receivers.add(receiverKind(definition.receiverType));
    grouped.set(key, entry);
  }
  const byKind = (kind: CelCatalogKind): CelCatalogItem[] =>
    [...grouped.values()]
      .filter((entry) => entry.kind === kind)
      .map((entry) => ({
        name: entry.name,
        kind,
        detail: entry.signatures.join('\n'),
        documentation: functionDocs[entry.name] ?? '',
        ...(entry.receivers.size > 0 ? { receivers: [...entry.receivers] } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  const namespaces: Record<string, CelCatalogItem[]> = {};
  for (const { namespaceType, name, signatures } of namespaceFunctions.values()) {
    const namespace = namespaceTypeNames.get(namespaceType)!;
    (namespaces[namespaceType] ??= []).push({
      name,
      kind: 'function',
      detail: signatures.join('\n'),
      documentation: functionDocs[`${namespace}.${name}`] ?? '',
    });
  }
  for (const items of Object.values(namespaces)) items.sort((a, b) => a.name.localeCompare(b.name));
  // The namespaces themselves are offered where a variable may be typed, documented by what they hold.
  for (const [namespaceType, namespace] of namespaceTypeNames) {
    const members = namespaces[namespaceType] ?? [];
    if (members.length === 0) continue;
    variables.push({
      name: namespace,
      kind: 'variable',
      detail: namespaceType,
      documentation: `Functions: ${members.map((member) => `\`${namespace}.${member.name}()\``).join(', ')}.`,
    });
  }
  return {
    variables,
    fields,
    functions: byKind('function'),
    methods: byKind('method'),
    macros: byKind('macro'),
    namespaces,
  };
}

/** `list<dyn>` → `list`, `google.protobuf.Timestamp` → `timestamp`: what completion matches a receiver against. */
function receiverKind(type: string): string {
  if (type.startsWith('list')) return 'list';
  if (type.startsWith('map')) return 'map';
  if (type.startsWith('optional')) return 'optional';
  if (type === 'google.protobuf.Timestamp') return 'timestamp';
  if (type === 'google.protobuf.Duration') return 'duration';
  return type;
}

/** What may be typed at the end of `textBeforeCursor` (the expression up to the cursor), best first. */
export interface CelCompletion {
  /** The partial word being completed; the editor replaces it. */
  readonly prefix: string;
  readonly items: readonly CelCatalogItem[];
}

/**
 * Completion inside a CEL expression: after `req.` the fields of the request (and string-like methods), after a
 * known field its members, after a namespace (`hash.`) its functions, after any other `.` the methods and macros,
 * elsewhere variables (namespaces included), functions and `has`.
 */
export function celCompletions(textBeforeCursor: string, phase: Phase): CelCompletion {
  const catalog = celCatalog(phase);
  const match = /((?:[A-Za-z_]\w*\s*\.\s*)*)([A-Za-z_]\w*)?$/.exec(textBeforeCursor);
  const chainText = match?.[1] ?? '';
  const prefix = match?.[2] ?? '';
  const startsWithWord = (item: CelCatalogItem) => item.name.toLowerCase().startsWith(prefix.toLowerCase());
  const before = textBeforeCursor.slice(0, textBeforeCursor.length - chainText.length - prefix.length);
  const afterDot = chainText !== '' || /\.\s*$/.test(before);
  if (!afterDot) {
    const items = [
      ...catalog.variables,
      ...catalog.functions,
      ...catalog.macros.filter((macro) => macro.name === 'has'),
    ];
    return { prefix, items: items.filter(startsWithWord) };
  }
  const chain = chainText
    .split('.')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const type = chainText === '' ? undefined : resolveChain(catalog, chain);
  // `hash.` and the like: the namespace's functions, and nothing that applies to values.
  if (type !== undefined && Object.hasOwn(catalog.namespaces, type)) {
    return { prefix, items: (catalog.namespaces[type] ?? []).filter(startsWithWord) };
  }
  const methods = catalog.methods.filter((method) => type === undefined || methodApplies(method, type));
  const macros = catalog.macros.filter((macro) => macro.name !== 'has' && (type === undefined || isListLike(type)));
  const fields = type !== undefined && Object.hasOwn(catalog.fields, type) ? (catalog.fields[type] ?? []) : [];
  return { prefix, items: [...fields, ...methods, ...macros].filter(startsWithWord) };
}

/** The type `a.b.c` resolves to, or undefined when any step is not a known variable or field. */
function resolveChain(catalog: CelCatalog, chain: readonly string[]): string | undefined {
  const [first, ...rest] = chain;
  let type = catalog.variables.find((variable) => variable.name === first)?.detail;
  for (const name of rest) {
    if (type === undefined || !Object.hasOwn(catalog.fields, type)) return undefined;
    type = catalog.fields[type]?.find((field) => field.name === name)?.detail;
  }
  return type;
}

const stringLike = new Set<string>(['string', 'ClientIp', 'RequestUrl']);

function methodApplies(method: CelCatalogItem, type: string): boolean {
  const receivers = method.receivers ?? [];
  if (stringLike.has(type)) return receivers.includes('string') || receivers.includes(type);
  return receivers.includes(receiverKind(type)) || receivers.includes('dyn');
}

function isListLike(type: string): boolean {
  return type.startsWith('list') || type.startsWith('map') || type === 'dyn';
}

export type { CelObjectTypeName };
