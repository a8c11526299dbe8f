/**
 * Values that are both a string and carry members in CEL. `conn.client_ip` compares equal to a string and also has
 * `.categories`; `req.url` compares equal to a string and also has `.path`, `.query`, … The CEL environment registers
 * these classes as types and adds `==` overloads against `string`, plus string-like receiver functions.
 */

import type { Environment } from '@marcbachmann/cel-js';
import { ContentType, UserAgent } from './cel-request-values.js';
import { CelCookie } from './cel-cookies.js';
import { celFieldTypes } from './cel-types.js';

/** Resolves the IP categories containing an address; the data plane backs it with the snapshot's categories. */
export interface IpCategoryResolver {
  categoriesOf(address: string): readonly string[];
}

export class ClientIp {
  #categories: readonly string[] | undefined;

  constructor(
    readonly address: string,
    private readonly resolver: IpCategoryResolver,
  ) {}

  /** Computed on first use: most requests never ask. */
  get categories(): readonly string[] {
    return (this.#categories ??= this.resolver.categoriesOf(this.address));
  }

  toString(): string {
    return this.address;
  }
}

/** The request URL as CEL sees it; `toString()` is the full URL. */
export class RequestUrl {
  #queryParams: Map<string, string[]> | undefined;

  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly port: string,
    readonly path: string,
    /** Raw query string without the leading `?`. */
    readonly query: string,
    /** The path as sent, before normalization; `path` when the host did not say. */
    readonly rawPath: string = path,
  ) {}

  /** `host[:port]`, the port omitted when it is the scheme's default (ngrok's `req.url.authority`). */
  get authority(): string {
    const defaultPort =
      (this.scheme === 'https' && this.port === '443') || (this.scheme === 'http' && this.port === '80');
    return this.port === '' || defaultPort ? this.host : `${this.host}:${this.port}`;
  }

  get raw_path(): string {
    return this.rawPath;
  }

  /** The request target: the raw path and, when there is one, `?query`. */
  get uri(): string {
    return `${this.rawPath}${this.query === '' ? '' : `?${this.query}`}`;
  }

  /** The URL with the path as sent (`toString()` has the normalized one). */
  get raw(): string {
    return `${this.scheme}://${this.authority}${this.uri}`;
  }

  get query_params(): Map<string, string[]> {
    return (this.#queryParams ??= parseQueryParams(this.query));
  }

  /** scheme://host[:port]/path[?query], the port omitted when it is the scheme's default. */
  toString(): string {
    return `${this.scheme}://${this.authority}${this.path}${this.query === '' ? '' : `?${this.query}`}`;
  }
}

/** Decodes `a=1&b=2&a=3` into name → values (names and values percent-decoded, `+` as space). */
export function parseQueryParams(query: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const name = decodeQueryComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decodeQueryComponent(pair.slice(separator + 1));
    const values = params.get(name);
    if (values === undefined) params.set(name, [value]);
    else values.push(value);
  }
  return params;
}

function decodeQueryComponent(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * Registers ClientIp and RequestUrl with `==` against strings (the library derives `string == X` and `!=` itself;
 * registering those too would throw "already registered").
 */
export function registerValueTypes(environment: Environment): Environment {
  return (
    environment
      .registerType('ClientIp', { ctor: ClientIp, fields: celFieldTypes('ClientIp') })
      .registerType('RequestUrl', { ctor: RequestUrl, fields: celFieldTypes('RequestUrl') })
      .registerType('UserAgent', { ctor: UserAgent, fields: celFieldTypes('UserAgent') })
      .registerType('Cookie', { ctor: CelCookie, fields: celFieldTypes('Cookie') })
      .registerType('ContentType', { ctor: ContentType, fields: celFieldTypes('ContentType') })
      .registerOperator('ClientIp == string', (ip: ClientIp, text: string) => ip.address === text)
      .registerOperator('RequestUrl == string', (url: RequestUrl, text: string) => url.toString() === text)
      .registerOperator('UserAgent == string', (agent: UserAgent, text: string) => agent.raw === text)
      .registerOperator('ContentType == string', (type: ContentType, text: string) => type.mediaType === text)
      // ngrok's own example: `conn.client_ip in ['::1', '127.0.0.1']`; entries are compared as written, like `==`.
      .registerOperator('ClientIp in list<string>', (ip: ClientIp, list: readonly unknown[]) =>
        list.includes(ip.address),
      )
      .registerOperator('ContentType in list<string>', (type: ContentType, list: readonly unknown[]) =>
        list.includes(type.mediaType),
      )
  );
}
