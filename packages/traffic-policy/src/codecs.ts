/**
 * Pure codecs behind the CEL functions (`sha256`, `encodeBase64`, `encodeJson`, `parseUrl`, …) and the actions.
 *
 * The engine also runs in the browser, so nothing here may use Buffer or `node:crypto`: SHA-256 comes from
 * `@noble/hashes` (pure JS, synchronous), base64 is written out over Uint8Array, text goes through
 * TextEncoder/TextDecoder and URLs through the global `URL`.
 */
import { Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseQueryParams } from './cel-values.js';

const utf8Encoder = new TextEncoder();
/** Fatal, so bytes that are not UTF-8 fail loudly instead of turning into U+FFFD; the BOM is kept as data. */
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------------------------------
// SHA-256 and hex. Synchronous on purpose: CEL handlers cannot await, so WebCrypto's digest() is not an option.

/** The 32-byte SHA-256 digest of `input` (strings are hashed as UTF-8). */
export function sha256Digest(input: string | Uint8Array): Uint8Array {
  return sha256(typeof input === 'string' ? utf8Encoder.encode(input) : input);
}

/** Lower-case hex SHA-256 of `input` (strings are hashed as UTF-8). */
export function sha256Hex(input: string | Uint8Array): string {
  return bytesToHex(sha256Digest(input));
}

export { bytesToHex };

// ---------------------------------------------------------------------------------------------------------------------
// Base64

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CHAR_EQUALS = 61;

/** Char code → 6-bit value for both the standard and the URL-safe alphabet; -1 for anything else. */
const BASE64_VALUES = (() => {
  const values = new Int8Array(128).fill(-1);
  for (let index = 0; index < BASE64_ALPHABET.length; index++) values[BASE64_ALPHABET.charCodeAt(index)] = index;
  values['-'.charCodeAt(0)] = 62;
  values['_'.charCodeAt(0)] = 63;
  return values;
})();

/** Standard alphabet with `=` padding (RFC 4648 §4). */
export function bytesToBase64(bytes: Uint8Array): string {
  let text = '';
  const whole = bytes.length - (bytes.length % 3);
  for (let index = 0; index < whole; index += 3) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    text +=
      BASE64_ALPHABET[triple >>> 18]! +
      BASE64_ALPHABET[(triple >>> 12) & 63]! +
      BASE64_ALPHABET[(triple >>> 6) & 63]! +
      BASE64_ALPHABET[triple & 63]!;
  }
  if (bytes.length - whole === 1) {
    const single = bytes[whole]!;
    text += BASE64_ALPHABET[single >>> 2]! + BASE64_ALPHABET[(single & 3) << 4]! + '==';
  } else if (bytes.length - whole === 2) {
    const pair = (bytes[whole]! << 8) | bytes[whole + 1]!;
    text +=
      BASE64_ALPHABET[pair >>> 10]! + BASE64_ALPHABET[(pair >>> 4) & 63]! + BASE64_ALPHABET[(pair & 15) << 2]! + '=';
  }
  return text;
}

/**
 * Decodes standard or URL-safe base64, padded or not, because webhooks and JWTs use both. Whitespace and misplaced
 * padding are errors: a policy comparing decoded values must not get a silently truncated result.
 */
export function base64ToBytes(text: string): Uint8Array {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === CHAR_EQUALS) {
    end--;
    if (end > 0 && text.charCodeAt(end - 1) === CHAR_EQUALS) end--;
    if (text.length % 4 !== 0) throw invalidBase64();
  }
  if (end % 4 === 1) throw invalidBase64();

  const bytes = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bufferedBits = 0;
  let written = 0;
  for (let index = 0; index < end; index++) {
    const code = text.charCodeAt(index);
    const value = code < 128 ? BASE64_VALUES[code]! : -1;
    if (value < 0) throw invalidBase64();
    buffer = ((buffer << 6) | value) & 0xffffff;
    bufferedBits += 6;
    if (bufferedBits >= 8) {
      bufferedBits -= 8;
      bytes[written++] = buffer >>> bufferedBits;
    }
  }
  return bytes;
}

function invalidBase64(): Error {
  return new Error('invalid base64');
}

/** UTF-8 bytes of `text` as padded standard base64. */
export function encodeBase64(text: string): string {
  return bytesToBase64(utf8Encoder.encode(text));
}

/** Base64 (standard or URL-safe) → UTF-8 text; throws when either layer is invalid. */
export function decodeBase64(text: string): string {
  const bytes = base64ToBytes(text);
  try {
    return strictUtf8Decoder.decode(bytes);
  } catch {
    throw new Error('decoded base64 is not valid UTF-8');
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// JSON ↔ CEL values

/**
 * A `JSON.parse` result as CEL values. Objects become Maps rather than staying plain objects: cel-js types a plain
 * object by its `constructor` property, so `{"constructor": 1}` from a request body would break evaluation.
 * Numbers stay JS numbers (CEL double), as with protobuf's `Value`.
 */
export function jsonToCel(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(jsonToCel);
  const map = new Map<string, unknown>();
  for (const [key, entry] of Object.entries(value)) map.set(key, jsonToCel(entry));
  return map;
}

/** Guards `celToJson` against runaway recursion; CEL values this deep are certainly a mistake. */
const MAX_JSON_DEPTH = 512;

/**
 * A CEL runtime value as something `JSON.stringify` renders faithfully. Integers outside the double-safe range become
 * strings (proto3 JSON does the same for int64) so no digits are lost; timestamps are RFC 3339, durations `"1.5s"`,
 * bytes base64, and values like `conn.client_ip` or `req.url` their string form. Throws for values JSON cannot carry.
 */
export function celToJson(value: unknown): unknown {
  return convertToJson(value, 0);
}

function convertToJson(value: unknown, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) throw new Error('value is nested too deeply to encode as JSON');
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // proto3 JSON spells non-finite doubles as strings; JSON.stringify would quietly write null.
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return bigintToJson(value);
    case 'object':
      return value === null ? null : objectToJson(value, depth);
    case 'undefined':
    case 'symbol':
    case 'function':
      throw new Error(`a ${typeof value} value cannot be encoded as JSON`);
  }
}

function bigintToJson(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : `${value}`;
}

function objectToJson(value: object, depth: number): unknown {
  if (Array.isArray(value) || value instanceof Set) {
    return Array.from(value as Iterable<unknown>, (entry) => convertToJson(entry, depth + 1));
  }
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, entry] of value as Map<unknown, unknown>) {
      setJsonProperty(object, formatMapKey(key), convertToJson(entry, depth + 1));
    }
    return object;
  }
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (value instanceof UnsignedInt) return bigintToJson(value.value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('an invalid timestamp cannot be encoded as JSON');
    return value.toISOString();
  }
  if (value instanceof Duration) return value.toString();
  if (value instanceof Optional) return value.hasValue() ? convertToJson(value.value(), depth + 1) : null;
  const toText = findCustomToString(value);
  if (toText !== undefined) {
    const text: unknown = toText.call(value);
    if (typeof text === 'string') return text;
  }

  // Plain objects (cel-js map literals) and custom types without a string form: their own enumerable fields.
  const object: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) setJsonProperty(object, key, convertToJson(entry, depth + 1));
  return object;
}

/** CEL map keys are strings, ints, uints or bools; JSON object keys are their string forms. */
function formatMapKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'bigint' || typeof key === 'boolean' || typeof key === 'number') return `${key}`;
  if (key instanceof UnsignedInt) return `${key.value}`;
  throw new Error('a map key of this type cannot be encoded as JSON');
}

/** Values such as ClientIp and RequestUrl define `toString`; plain objects (and null-prototype ones) only inherit Object's. */
function findCustomToString(value: object): ((this: object) => unknown) | undefined {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return undefined;
  const toText: unknown = (value as { toString?: unknown }).toString;
  return typeof toText === 'function' && toText !== Object.prototype.toString
    ? (toText as (this: object) => unknown)
    : undefined;
}

/** A `__proto__` key must become data, not replace the object's prototype. */
function setJsonProperty(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/** CEL value → JSON text (see `celToJson` for the mapping). */
export function encodeJson(value: unknown): string {
  return JSON.stringify(celToJson(value));
}

/** JSON text → CEL value (see `jsonToCel`); throws on invalid JSON. */
export function decodeJson(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid JSON: ${error instanceof Error ? error.message : 'parse failed'}`, { cause: error });
  }
  return jsonToCel(parsed);
}

// ---------------------------------------------------------------------------------------------------------------------
// URLs

/**
 * Splits an absolute URL into the same parts `req.url` exposes, plus fragment and credentials. Uses WHATWG `URL`, so the
 * host is normalized (lower-case, punycode) and a scheme's default port reads as `''`. IPv6 hosts lose their brackets
 * so the value can go straight into `inCidrRange`.
 */
export function parseUrlToMap(text: string): Map<string, unknown> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('invalid URL');
  }
  const hostname =
    url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  const query = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  return new Map<string, unknown>([
    ['scheme', url.protocol.endsWith(':') ? url.protocol.slice(0, -1) : url.protocol],
    ['host', hostname],
    ['port', url.port],
    ['path', url.pathname],
    ['query', query],
    ['query_params', parseQueryParams(query)],
    ['fragment', url.hash.startsWith('#') ? url.hash.slice(1) : url.hash],
    ['user', decodeUrlComponentLeniently(url.username)],
    ['password', decodeUrlComponentLeniently(url.password)],
  ]);
}

/** Credentials come back percent-encoded from `URL`; a stray `%` there is data, not an error worth failing a rule. */
function decodeUrlComponentLeniently(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Percent-encodes like `encodeURIComponent`; throws on lone surrogates, which have no UTF-8 form. */
export function escapeUrl(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new Error('text cannot be percent-encoded: it contains a lone surrogate');
  }
}

/** Inverse of `escapeUrl` (`+` stays `+`); throws on malformed escapes instead of guessing. */
export function unescapeUrl(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new Error('invalid percent-encoding');
  }
}
