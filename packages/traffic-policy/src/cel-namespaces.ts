/**
 * ngrok's namespaced CEL macros (`base64.decode`, `hash.md5`, `json.encode`, `url.parse`, `queryString.decode`,
 * `rand.int`, `lists.range`, `strings.quote`, `basic_auth.encode`), and the receiver forms ngrok documents next to
 * them (`s.md5('base64')`, `s.decodeQueryString()`, `m.encodeQueryString()`, `l.encodeJson()`, …).
 *
 * cel-js has no namespaces, but it resolves `optional.of(x)` and `cel.bind(…)` as methods of a constant whose type
 * exists only for that purpose; the namespaces here work the same way: `hash` is a constant of type `HashNamespace`
 * and `hash.md5(s)` is the method `HashNamespace.md5(string)`. So the checker types every call (a wrong argument is a
 * save-time error) and the editor validates them without a server.
 *
 * Work proportional to the input is charged to the evaluation budget (cel-cost.ts) and results whose size the input
 * does not bound (`lists.range`) are checked against the size caps before they are built.
 */
import { type Environment } from '@marcbachmann/cel-js';
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { charge, checkSize } from './cel-cost.js';
import { parseQueryParams } from './cel-values.js';
import { crc32, crc64, xxhash64 } from './checksums.js';
import {
  base64ToBytes,
  bytesToBase64,
  celToJson,
  decodeJson,
  encodeBase64,
  encodeJson,
  escapeUrl,
  parseUrlToMap,
  unescapeUrl,
} from './codecs.js';

class Base64Namespace {}
class BasicAuthNamespace {}
class HashNamespace {}
class JsonNamespace {}
class ListsNamespace {}
class QueryStringNamespace {}
class RandNamespace {}
class StringsNamespace {}
class UrlNamespace {}

/** Each namespace's type name → the name policies write, so error messages say `hash.md5(int)`, not the type. */
export const namespaceTypeNames: ReadonlyMap<string, string> = new Map([
  ['Base64Namespace', 'base64'],
  ['BasicAuthNamespace', 'basic_auth'],
  ['HashNamespace', 'hash'],
  ['JsonNamespace', 'json'],
  ['ListsNamespace', 'lists'],
  ['QueryStringNamespace', 'queryString'],
  ['RandNamespace', 'rand'],
  ['StringsNamespace', 'strings'],
  ['UrlNamespace', 'url'],
  ['SecretsNamespace', 'secrets'],
]);

const utf8Encoder = new TextEncoder();

/** Charges one unit per 100 characters or bytes of input: hashing and codecs run in time linear in it. */
function chargeInput(size: number): void {
  if (size >= 100) charge(Math.floor(size / 100));
}

function utf8(text: string): Uint8Array {
  chargeInput(text.length);
  return utf8Encoder.encode(text);
}

type Digest = (bytes: Uint8Array) => Uint8Array;

/** The digests ngrok's `hash.*` namespace offers; each renders as lower-case hex unless asked for `base64`. */
const digests: readonly (readonly [name: string, digest: Digest])[] = [
  ['md5', (bytes) => md5(bytes)],
  ['sha1', (bytes) => sha1(bytes)],
  ['sha256', (bytes) => sha256(bytes)],
  ['sha512', (bytes) => sha512(bytes)],
  ['crc32', crc32],
  ['crc64', crc64],
  ['xxhash64', xxhash64],
];

export function formatDigest(digest: Uint8Array, format: string): string {
  if (format === 'hex') return bytesToHex(digest);
  if (format === 'base64') return bytesToBase64(digest);
  throw new Error(`unknown hash format ${JSON.stringify(format)}: use 'hex' or 'base64'`);
}

/** Registers the namespace constants and their functions; `registerPolicyFunctions` calls it. */
export function registerNamespaceFunctions(env: Environment): void {
  env
    .registerType('Base64Namespace', { ctor: Base64Namespace })
    .registerType('BasicAuthNamespace', { ctor: BasicAuthNamespace })
    .registerType('HashNamespace', { ctor: HashNamespace })
    .registerType('JsonNamespace', { ctor: JsonNamespace })
    .registerType('ListsNamespace', { ctor: ListsNamespace })
    .registerType('QueryStringNamespace', { ctor: QueryStringNamespace })
    .registerType('RandNamespace', { ctor: RandNamespace })
    .registerType('StringsNamespace', { ctor: StringsNamespace })
    .registerType('UrlNamespace', { ctor: UrlNamespace })
    .registerConstant('base64', 'Base64Namespace', new Base64Namespace())
    .registerConstant('basic_auth', 'BasicAuthNamespace', new BasicAuthNamespace())
    .registerConstant('hash', 'HashNamespace', new HashNamespace())
    .registerConstant('json', 'JsonNamespace', new JsonNamespace())
    .registerConstant('lists', 'ListsNamespace', new ListsNamespace())
    .registerConstant('queryString', 'QueryStringNamespace', new QueryStringNamespace())
    .registerConstant('rand', 'RandNamespace', new RandNamespace())
    .registerConstant('strings', 'StringsNamespace', new StringsNamespace())
    .registerConstant('url', 'UrlNamespace', new UrlNamespace());

  registerCodecNamespaces(env);
  registerHashes(env);
  registerRandom(env);
  registerQueryStrings(env);
  env
    .registerFunction('ListsNamespace.range(int): list<int>', (_: ListsNamespace, count: bigint) => range(count))
    .registerFunction('StringsNamespace.quote(string): string', (_: StringsNamespace, text: string) => quote(text));
}

function registerCodecNamespaces(env: Environment): void {
  env
    // ngrok: base64.decode(string) -> bytes, base64.encode(bytes) -> string; a string argument is encoded as UTF-8.
    .registerFunction('Base64Namespace.decode(string): bytes', (_: Base64Namespace, text: string) => {
      chargeInput(text.length);
      // ngrok documents `base64.decode('aGVsbG8')` (unpadded) as an error: standard, padded base64 only.
      if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('invalid base64');
      return base64ToBytes(text);
    })
    .registerFunction('Base64Namespace.encode(bytes): string', (_: Base64Namespace, bytes: Uint8Array) => {
      chargeInput(bytes.length);
      return bytesToBase64(bytes);
    })
    .registerFunction('Base64Namespace.encode(string): string', (_: Base64Namespace, text: string) => {
      chargeInput(text.length);
      return encodeBase64(text);
    })
    .registerFunction(
      'BasicAuthNamespace.encode(string, string): string',
      (_: BasicAuthNamespace, user: string, password: string) => `Basic ${encodeBase64(`${user}:${password}`)}`,
    )
    .registerFunction('JsonNamespace.decode(string): dyn', (_: JsonNamespace, text: string) => {
      chargeInput(text.length);
      return decodeJson(text);
    })
    .registerFunction('JsonNamespace.encode(dyn): string', (_: JsonNamespace, value: unknown) => encodeJson(value))
    .registerFunction('list.encodeJson(): string', (value: unknown) => encodeJson(value))
    .registerFunction('map.encodeJson(): string', (value: unknown) => encodeJson(value))
    .registerFunction('UrlNamespace.escape(string): string', (_: UrlNamespace, text: string) => escapeUrl(text))
    .registerFunction('UrlNamespace.unescape(string): string', (_: UrlNamespace, text: string) => unescapeUrl(text))
    .registerFunction('UrlNamespace.parse(string): map<string, dyn>', (_: UrlNamespace, text: string) =>
      parseUrlToMap(text),
    )
    .registerFunction('string.isJson(): bool', (text: string) => isJson(text))
    .registerFunction('isJson(string): bool', (text: string) => isJson(text))
    .registerFunction('string.isURL(): bool', (text: string) => isUrl(text))
    .registerFunction('isURL(string): bool', (text: string) => isUrl(text))
    .registerFunction('string.isQueryString(): bool', (text: string) => isQueryString(text))
    .registerFunction('isQueryString(string): bool', (text: string) => isQueryString(text));
}

function registerHashes(env: Environment): void {
  for (const [name, digest] of digests) {
    const hex = (text: string) => bytesToHex(digest(utf8(text)));
    const formatted = (text: string, format: string) => formatDigest(digest(utf8(text)), format);
    env
      .registerFunction(`HashNamespace.${name}(string): string`, (_: HashNamespace, text: string) => hex(text))
      .registerFunction(
        `HashNamespace.${name}(string, string): string`,
        (_: HashNamespace, text: string, format: string) => formatted(text, format),
      )
      .registerFunction(`string.${name}(string): string`, (text: string, format: string) => formatted(text, format));
    // `sha256(s)` and `s.sha256()` predate the namespace (cel-functions.ts); the others are new in both forms.
    if (name !== 'sha256') env.registerFunction(`string.${name}(): string`, (text: string) => hex(text));
  }
}

/** A uniform random fraction in [0, 1) from the platform's CSPRNG (present in Node and every browser). */
function randomFraction(): number {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  // 53 random bits, as Math.random's best case, but not predictable from earlier outputs.
  return ((words[0]! >>> 5) * 67108864 + (words[1]! >>> 6)) / 9007199254740992;
}

function registerRandom(env: Environment): void {
  env
    .registerFunction('RandNamespace.double(): double', () => randomFraction())
    .registerFunction('RandNamespace.int(): int', () => randomInt(0n, 1n))
    .registerFunction('RandNamespace.int(int, int): int', (_: RandNamespace, min: bigint, max: bigint) =>
      randomInt(min, max),
    );
}

/**
 * An int in [min, max], both ends included (ngrok's `rand.int() == 1` must be able to hold, with the default 0 and 1).
 * Negative bounds or min > max are errors, as ngrok documents only non-negative ranges.
 */
export function randomInt(min: bigint, max: bigint): bigint {
  if (min < 0n || max < 0n) throw new Error('rand.int(): min and max must not be negative');
  if (min > max) throw new Error('rand.int(): min must not be greater than max');
  const span = max - min + 1n;
  if (span <= BigInt(Number.MAX_SAFE_INTEGER)) return min + BigInt(Math.floor(randomFraction() * Number(span)));
  return (
    min + (BigInt(Math.floor(randomFraction() * Number.MAX_SAFE_INTEGER)) * span) / BigInt(Number.MAX_SAFE_INTEGER)
  );
}

function registerQueryStrings(env: Environment): void {
  env
    .registerFunction('QueryStringNamespace.decode(string): map<string, string>', (_: QueryStringNamespace, text) =>
      decodeQueryString(text as string),
    )
    .registerFunction('string.decodeQueryString(): map<string, string>', (text: string) => decodeQueryString(text))
    .registerFunction(
      'QueryStringNamespace.encode(map): string',
      (_: QueryStringNamespace, map: Map<string, unknown>) => encodeQueryString(map),
    )
    .registerFunction('map.encodeQueryString(): string', (map: Map<string, unknown>) => encodeQueryString(map));
}

/**
 * `a=b&c=d` → `{a: 'b', c: 'd'}`: ngrok documents a map of strings (`queryString.decode(q)["q"] == "hello"`), so a
 * repeated name keeps its first value, as Go's `url.Values.Get` does; `req.url.query_params` has them all.
 */
export function decodeQueryString(text: string): Map<string, string> {
  chargeInput(text.length);
  const decoded = new Map<string, string>();
  for (const [name, values] of parseQueryParams(text.startsWith('?') ? text.slice(1) : text))
    decoded.set(name, values[0] ?? '');
  return decoded;
}

/**
 * A map → `a=b&c=d`, names sorted (Go's `url.Values.Encode`, so the same map always gives the same text); a list
 * value repeats the name; other values are written as their JSON scalars.
 */
export function encodeQueryString(map: Map<string, unknown> | Record<string, unknown>): string {
  const entries = map instanceof Map ? [...map.entries()] : Object.entries(map);
  const pairs: string[] = [];
  for (const [name, value] of entries.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) pairs.push(`${queryEscape(String(name))}=${queryEscape(queryScalar(item))}`);
  }
  const text = pairs.join('&');
  checkSize('string', text.length);
  return text;
}

function queryScalar(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  const json = celToJson(value);
  if (json !== null && typeof json === 'object')
    throw new Error('queryString.encode(): values must be scalars or lists');
  return String(json);
}

/** Go's `url.QueryEscape`: spaces as `+`, everything but unreserved characters percent-encoded. */
function queryEscape(text: string): string {
  return escapeUrl(text)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function isJson(text: string): boolean {
  chargeInput(text.length);
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** An absolute URL with a scheme and a host (`https://ngrok.com`), as ngrok's `isURL` accepts; `not a url` is not. */
export function isUrl(text: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#]+[^\s]*$/.test(text)) return false;
  try {
    return new URL(text).host !== '';
  } catch {
    return false;
  }
}

/**
 * `a=b&c=d` is a query string, `not a query string` is not: every `&`-separated part is `name` or `name=value` with
 * no whitespace and valid percent-escapes.
 */
export function isQueryString(text: string): boolean {
  chargeInput(text.length);
  const query = text.startsWith('?') ? text.slice(1) : text;
  if (query === '' || /\s/.test(query)) return false;
  for (const part of query.split('&')) {
    if (part === '' || part.startsWith('=')) return false;
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return false;
    }
  }
  return true;
}

/** `lists.range(n)`: [0, n); the size is checked before the list exists. */
export function range(count: bigint): bigint[] {
  if (count < 0n) throw new Error('lists.range(): the count must not be negative');
  checkSize('list', Number(count));
  const list: bigint[] = [];
  for (let index = 0n; index < count; index++) list.push(index);
  return list;
}

/** Go's `strconv.Quote`: a double-quoted literal with escapes for quotes, backslashes and control characters. */
export function quote(text: string): string {
  chargeInput(text.length);
  let quoted = '"';
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (character === '"' || character === '\\') quoted += `\\${character}`;
    else if (code === 0x07) quoted += '\\a';
    else if (code === 0x08) quoted += '\\b';
    else if (code === 0x0c) quoted += '\\f';
    else if (code === 0x0a) quoted += '\\n';
    else if (code === 0x0d) quoted += '\\r';
    else if (code === 0x09) quoted += '\\t';
    else if (code === 0x0b) quoted += '\\v';
    else if (code < 0x20 || code === 0x7f) quoted += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) quoted += '\uFFFD';
    else quoted += character;
  }
  checkSize('string', quoted.length + 1);
  return `${quoted}"`;
}
