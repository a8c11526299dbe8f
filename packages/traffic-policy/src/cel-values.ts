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

/**
 * What a geo/AS database knows about one address (ngrok's `conn.geo.*` and `conn.client_ip.as.*`). Every field may be
 * absent: a country-only database has no city, private and loopback addresses have no record at all.
 */
export interface IpIntelligenceRecord {
  readonly city?: string;
  /** The English country name (`United States`). */
  readonly country?: string;
  /** ISO 3166-1 alpha-2 (`US`). */
  readonly countryCode?: string;
  readonly latitude?: number;
  readonly longitude?: number;
  /** The accuracy radius around latitude/longitude, in kilometres. */
  readonly radiusKm?: number;
  /** The English name of the largest subdivision (`California`). */
  readonly subdivision?: string;
  /** The English continent name (`North America`, `Europe`). */
  readonly continent?: string;
  /** Where the address block is registered (ISO 3166-1 alpha-2); can differ from `countryCode` for CDNs and carriers. */
  readonly registeredCountryCode?: string;
  readonly asNumber?: number;
  readonly asOrganization?: string;
}

/**
 * Looks up geo and AS data for an address. A port, so the engine stays pure: the data plane backs it with MMDB files,
 * policy tests and replays with fixed records, the editor with nothing (every field reads as empty).
 */
export interface IpIntelligence {
  lookup(address: string): IpIntelligenceRecord | undefined;
}

const noRecord: IpIntelligenceRecord = Object.freeze({});

/** `conn.client_ip.as`: ngrok types the number as an integer and the organization as a string; 0 and '' when unknown. */
export class AutonomousSystem {
  constructor(private readonly record: IpIntelligenceRecord) {}
  get number(): bigint {
    const value = this.record.asNumber;
    return value !== undefined && Number.isSafeInteger(value) ? BigInt(value) : 0n;
  }
  get organization(): string {
    return this.record.asOrganization ?? '';
  }
}

/** EU member states (ISO 3166-1 alpha-2), for `conn.client_ip.geo.location.is_eu`. */
const euCountries: ReadonlySet<string> = new Set(
  'AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE'.split(' '),
);

/** `conn.client_ip.geo.location`: where the address is used (ngrok's agent examples and skills use these three). */
export class IpLocation {
  constructor(private readonly record: IpIntelligenceRecord) {}
  get country_code(): string {
    return this.record.countryCode ?? '';
  }
  get continent(): string {
    return this.record.continent ?? '';
  }
  get is_eu(): boolean {
    return euCountries.has(this.record.countryCode ?? '');
  }
}

/** `conn.client_ip.geo.registered_location`: where the address block is registered. */
export class IpRegisteredLocation {
  constructor(private readonly record: IpIntelligenceRecord) {}
  get country_code(): string {
    return this.record.registeredCountryCode ?? '';
  }
}

/** `conn.client_ip.geo`: the IP-intelligence view of the same record `conn.geo.*` reads. */
export class ClientIpGeo {
  constructor(private readonly record: IpIntelligenceRecord) {}
  get location(): IpLocation {
    return new IpLocation(this.record);
  }
  get registered_location(): IpRegisteredLocation {
    return new IpRegisteredLocation(this.record);
  }
}

export class ClientIp {
  #categories: readonly string[] | undefined;
  #record: IpIntelligenceRecord | undefined;

  constructor(
    readonly address: string,
    private readonly resolver: IpCategoryResolver,
    private readonly intelligence?: IpIntelligence,
  ) {}

  /** Computed on first use: most requests never ask. */
  get categories(): readonly string[] {
    return (this.#categories ??= this.resolver.categoriesOf(this.address));
  }

  /**
   * The geo/AS record, looked up on first use and kept for the request: only policies that read `conn.geo.*` or
   * `conn.client_ip.as.*` pay for a lookup, and they pay once however many rules read it.
   */
  get record(): IpIntelligenceRecord {
    return (this.#record ??= this.intelligence?.lookup(this.address) ?? noRecord);
  }

  get as(): AutonomousSystem {
    return new AutonomousSystem(this.record);
  }

  get geo(): ClientIpGeo {
    return new ClientIpGeo(this.record);
  }

  /** ngrok: the same as `'proxy.anonymous.tor' in conn.client_ip.categories` (categories are hierarchical there). */
  get is_tor_node(): boolean {
    return this.categories.some((name) => name === 'proxy.anonymous.tor' || name.startsWith('proxy.anonymous.tor.'));
  }

  /**
   * ngrok: true when the address is on any blocklist category. Categories are the operator's own here, so a
   * blocklist is any category named `blocklist` or `blocklist.<feed>` (documented in the README).
   */
  get is_on_blocklist(): boolean {
    return this.categories.some((name) => name === 'blocklist' || name.startsWith('blocklist.'));
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
      .registerType('AutonomousSystem', { ctor: AutonomousSystem, fields: celFieldTypes('AutonomousSystem') })
      .registerType('IpLocation', { ctor: IpLocation, fields: celFieldTypes('IpLocation') })
      .registerType('IpRegisteredLocation', {
        ctor: IpRegisteredLocation,
        fields: celFieldTypes('IpRegisteredLocation'),
      })
      .registerType('ClientIpGeo', { ctor: ClientIpGeo, fields: celFieldTypes('ClientIpGeo') })
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
