/**
 * Cookies as ngrok's Traffic Policy shows them: objects, not strings. `req.cookies[name]` and `res.cookies[name]` are
 * lists of `Cookie`, and `getReqCookie(name)` / `getResCookie(name)` return one `Cookie` (ngrok: the first in the
 * Cookie header for requests, the one with the longest Path for responses). A missing cookie reads as an empty
 * cookie (every field empty, `expires` the zero time), as a Go zero value would, so `getReqCookie('s').value == ''`
 * holds without an error; ask `hasReqCookie('s')` to tell "absent" from "empty".
 */
import { type Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';

/** Go's zero `time.Time` (0001-01-01T00:00:00Z), what an unset `Expires` reads as. */
const zeroTime = -62_135_596_800_000;

/** A cookie with ngrok's field names; own fields are exactly those, so `json.encode(cookie)` reads like ngrok's. */
export class CelCookie {
  readonly path: string;
  readonly domain: string;
  readonly secure: boolean;
  readonly http_only: boolean;
  readonly same_site: string;
  readonly unparsed_attributes: ReadonlyMap<string, string>;
  readonly #expiresMs: number;
  readonly #maxAgeSeconds: number;

  constructor(
    readonly name: string,
    readonly value: string,
    attributes: {
      path?: string;
      domain?: string;
      expiresMs?: number;
      maxAgeSeconds?: number;
      secure?: boolean;
      httpOnly?: boolean;
      sameSite?: string;
      unparsed?: ReadonlyMap<string, string>;
    } = {},
  ) {
    this.path = attributes.path ?? '';
    this.domain = attributes.domain ?? '';
    this.secure = attributes.secure ?? false;
    this.http_only = attributes.httpOnly ?? false;
    this.same_site = attributes.sameSite ?? '';
    this.unparsed_attributes = attributes.unparsed ?? new Map();
    this.#expiresMs = attributes.expiresMs ?? zeroTime;
    this.#maxAgeSeconds = attributes.maxAgeSeconds ?? 0;
  }

  get expires(): Date {
    return new Date(this.#expiresMs);
  }
  get max_age(): Duration {
    return new Duration(this.#maxAgeSeconds);
  }
}

const emptyCookie = new CelCookie('', '');

/** `a=1; b=2` (every Cookie header) → name → cookies in header order. */
export function parseRequestCookies(headerValues: readonly string[]): Map<string, CelCookie[]> {
  const cookies = new Map<string, CelCookie[]>();
  for (const header of headerValues) {
    for (const part of header.split(';')) {
      const separator = part.indexOf('=');
      if (separator <= 0) continue;
      const name = part.slice(0, separator).trim();
      const value = unquote(part.slice(separator + 1).trim());
      const cookie = new CelCookie(name, value);
      const list = cookies.get(name);
      if (list === undefined) cookies.set(name, [cookie]);
      else list.push(cookie);
    }
  }
  return cookies;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * Every Set-Cookie header → name → cookies, longest Path first (ngrok's order), the header order kept among equal
 * paths. Attributes are matched case-insensitively; unknown ones land in `unparsed_attributes`.
 */
export function parseResponseCookies(headerValues: readonly string[]): Map<string, CelCookie[]> {
  const cookies = new Map<string, CelCookie[]>();
  for (const header of headerValues) {
    const cookie = parseSetCookie(header);
    if (cookie === undefined) continue;
    const list = cookies.get(cookie.name);
    if (list === undefined) cookies.set(cookie.name, [cookie]);
    else list.push(cookie);
  }
  for (const list of cookies.values()) list.sort((left, right) => right.path.length - left.path.length);
  return cookies;
}

export function parseSetCookie(header: string): CelCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const separator = pair.indexOf('=');
  if (separator <= 0) return undefined;
  const name = pair.slice(0, separator).trim();
  const value = unquote(pair.slice(separator + 1).trim());
  let path = '';
  let domain = '';
  let expiresMs = zeroTime;
  let maxAge = 0;
  let secure = false;
  let httpOnly = false;
  let sameSite = '';
  const unparsed = new Map<string, string>();
  for (const attribute of attributes) {
    const equals = attribute.indexOf('=');
    const key = (equals === -1 ? attribute : attribute.slice(0, equals)).trim();
    const attributeValue = equals === -1 ? '' : attribute.slice(equals + 1).trim();
    switch (key.toLowerCase()) {
      case '':
        break;
      case 'path':
        path = attributeValue;
        break;
      case 'domain':
        domain = attributeValue.startsWith('.') ? attributeValue.slice(1) : attributeValue;
        break;
      case 'expires': {
        const parsed = Date.parse(attributeValue);
        if (!Number.isNaN(parsed)) expiresMs = parsed;
        break;
      }
      case 'max-age': {
        const seconds = Number(attributeValue);
        if (/^-?\d+$/.test(attributeValue) && Number.isSafeInteger(seconds)) maxAge = seconds;
        break;
      }
      case 'secure':
        secure = true;
        break;
      case 'httponly':
        httpOnly = true;
        break;
      case 'samesite':
        sameSite = attributeValue;
        break;
      default:
        unparsed.set(key, attributeValue);
    }
  }
  return new CelCookie(name, value, {
    path,
    domain,
    expiresMs,
    maxAgeSeconds: maxAge,
    secure,
    httpOnly,
    sameSite,
    unparsed,
  });
}

/** What the cookie functions ask about the request being evaluated (PolicyContext implements it). */
export interface CelCookieScope {
  requestCookies(): ReadonlyMap<string, readonly CelCookie[]>;
  /** Empty outside the response phase. */
  responseCookies(): ReadonlyMap<string, readonly CelCookie[]>;
}

export const cookieFields = {
  name: 'string',
  value: 'string',
  path: 'string',
  domain: 'string',
  expires: 'google.protobuf.Timestamp',
  max_age: 'google.protobuf.Duration',
  secure: 'bool',
  http_only: 'bool',
  same_site: 'string',
  unparsed_attributes: 'map<string, string>',
} as const;

/** Registers `hasReqCookie`/`getReqCookie`/`hasResCookie`/`getResCookie`. */
export function registerCookieFunctions(env: Environment, holder: { current: CelCookieScope | undefined }): void {
  // The `Cookie` type itself is registered with the other value types (cel-values.ts), before the variables use it.
  const lookups: readonly [
    suffix: string,
    read: (scope: CelCookieScope) => ReadonlyMap<string, readonly CelCookie[]>,
  ][] = [
    ['ReqCookie', (scope) => scope.requestCookies()],
    ['ResCookie', (scope) => scope.responseCookies()],
  ];
  for (const [suffix, read] of lookups) {
    // Cookie names are case-sensitive.
    const cookies = (name: string): readonly CelCookie[] | undefined => {
      const scope = holder.current;
      return scope === undefined ? undefined : read(scope).get(name);
    };
    env.registerFunction(`has${suffix}(string): bool`, (name: string) => (cookies(name)?.length ?? 0) > 0);
    env.registerFunction(`get${suffix}(string): Cookie`, (name: string) => cookies(name)?.[0] ?? emptyCookie);
  }
}
