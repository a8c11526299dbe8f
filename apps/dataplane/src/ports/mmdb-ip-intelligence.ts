import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { continents, countries } from 'countries-list';
import maxmind, { type Reader, type Response } from 'maxmind';
import type { Logger } from 'pino';
import { isPrivateIp, type IpIntelligence, type IpIntelligenceRecord } from '@gatehouse/traffic-policy';

/**
 * The geo/AS port (`conn.geo.*`, `conn.client_ip.as.*`) backed by MMDB files read with `maxmind`. Loaded once at boot;
 * each file is re-checked every `refreshMs` and reopened when its size or modification time changed, so an operator
 * (or a cron running geoipupdate) replaces the file in place and the data plane follows without a restart. A file
 * that fails to open keeps the previous one serving. Lookups are synchronous map walks with an LRU in front.
 */

/**
 * The database shipped with the data plane: country-level, public domain (CC0-1.0), from `@ip-location-db`
 * (built from RIR whois and ASN data). A city database (GeoLite2-City, DB-IP City Lite) replaces it via
 * GATEHOUSE_GEOIP_DB for city, subdivision, coordinates and radius.
 */
export function bundledGeoDatabase(): string {
  return createRequire(import.meta.url).resolve(
    '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb',
  );
}

/** The record shapes this reads: MaxMind GeoIP2/GeoLite2 (City, Country, ASN) and ip-location-db's flat ones. */
interface MmdbRecord {
  // MaxMind City/Country
  city?: { names?: Record<string, string> };
  country?: { iso_code?: string; names?: Record<string, string> };
  registered_country?: { iso_code?: string };
  continent?: { names?: Record<string, string> };
  location?: { latitude?: number; longitude?: number; accuracy_radius?: number };
  subdivisions?: { names?: Record<string, string> }[];
  // ip-location-db (country_code, city, state1, latitude, longitude)
  country_code?: string;
  state1?: string;
  latitude?: number;
  longitude?: number;
  // ASN (MaxMind GeoLite2-ASN and ip-location-db asn)
  autonomous_system_number?: number;
  autonomous_system_organization?: string;
}

/** Made on the first lookup, not at import: building it loads ICU's display names, ≈9 ms of every boot. */
let regionNames: Intl.DisplayNames | undefined;
/** Names by ISO code, computed once per code (there are about 250): Intl.DisplayNames is slow per call. */
const countryNames = new Map<string, string | undefined>();
const continentNames = new Map<string, string | undefined>();

/** The English country name for an ISO code (`US` → `United States`), for databases that carry only the code. */
function countryName(code: string): string | undefined {
  if (countryNames.has(code)) return countryNames.get(code);
  let name: string | undefined;
  try {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    name = regionNames.of(code);
  } catch {
    name = undefined;
  }
  if (countryNames.size < 1_000) countryNames.set(code, name);
  return name;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The English continent of a country (`US` → `North America`), for databases that carry only the country. */
function continentOf(code: string): string | undefined {
  if (continentNames.has(code)) return continentNames.get(code);
  const country = (countries as Partial<Record<string, { continent: keyof typeof continents }>>)[code];
  const name = country === undefined ? undefined : continents[country.continent];
  if (continentNames.size < 1_000) continentNames.set(code, name);
  return name;
}

/** Maps either record shape onto the engine's; absent fields stay absent (they read as ''). */
export function recordFromMmdb(geo: MmdbRecord | null, asn: MmdbRecord | null): IpIntelligenceRecord | undefined {
  if (geo === null && asn === null) return undefined;
  const countryCode = text(geo?.country?.iso_code) ?? text(geo?.country_code);
  const record: {
    -readonly [K in keyof IpIntelligenceRecord]: IpIntelligenceRecord[K];
  } = {};
  const city = text(geo?.city?.names?.en) ?? text(geo?.city);
  if (city !== undefined) record.city = city;
  const country = text(geo?.country?.names?.en) ?? (countryCode === undefined ? undefined : countryName(countryCode));
  if (country !== undefined) record.country = country;
  if (countryCode !== undefined) record.countryCode = countryCode;
  const continent =
    text(geo?.continent?.names?.en) ?? (countryCode === undefined ? undefined : continentOf(countryCode));
  if (continent !== undefined) record.continent = continent;
  // Country-only databases built from registry (whois) data have no separate registered country: the same code is it.
  const registered = text(geo?.registered_country?.iso_code) ?? countryCode;
  if (registered !== undefined) record.registeredCountryCode = registered;
  const latitude = finite(geo?.location?.latitude) ?? finite(geo?.latitude);
  if (latitude !== undefined) record.latitude = latitude;
  const longitude = finite(geo?.location?.longitude) ?? finite(geo?.longitude);
  if (longitude !== undefined) record.longitude = longitude;
  const radius = finite(geo?.location?.accuracy_radius);
  if (radius !== undefined) record.radiusKm = radius;
  const subdivision = text(geo?.subdivisions?.[0]?.names?.en) ?? text(geo?.state1);
  if (subdivision !== undefined) record.subdivision = subdivision;
  const asNumber = finite(asn?.autonomous_system_number) ?? finite(geo?.autonomous_system_number);
  if (asNumber !== undefined) record.asNumber = asNumber;
  const asOrganization = text(asn?.autonomous_system_organization) ?? text(geo?.autonomous_system_organization);
  if (asOrganization !== undefined) record.asOrganization = asOrganization;
  return record;
}

/** One MMDB file, reopened when it changes on disk. */
class WatchedDatabase {
  #reader: Reader<Response> | undefined;
  #signature = '';

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /**
   * The record for `address`. An IPv4-only file is never asked about an IPv6 address: the reader would walk the
   * IPv4 tree with the IPv6 bits and answer with an unrelated network's record.
   */
  get(address: string): MmdbRecord | null {
    const reader = this.#reader;
    if (reader === undefined || (reader.metadata.ipVersion === 4 && address.includes(':'))) return null;
    return reader.get(address) as MmdbRecord | null;
  }

  /** Opens the file when it is new or changed; keeps the previous reader when it cannot be read. */
  async refresh(): Promise<boolean> {
    let signature: string;
    try {
      const info = await stat(this.path);
      signature = `${info.size}:${info.mtimeMs}`;
    } catch (error) {
      if (this.#reader === undefined) throw error;
      this.logger.warn({ err: error, path: this.path }, 'geo database unreadable; the loaded copy keeps serving');
      return false;
    }
    if (signature === this.#signature) return false;
    try {
      this.#reader = await maxmind.open<Response>(this.path, { cache: { max: 10_000 } });
      this.#signature = signature;
      const { databaseType, buildEpoch } = this.#reader.metadata;
      this.logger.info({ path: this.path, databaseType, buildEpoch }, 'geo database loaded');
      return true;
    } catch (error) {
      if (this.#reader === undefined) throw error;
      this.logger.warn(
        { err: error, path: this.path },
        'geo database could not be reopened; the loaded copy keeps serving',
      );
      return false;
    }
  }
}

export interface MmdbIpIntelligenceOptions {
  /** City or country database (MaxMind or ip-location-db layout). */
  geoPath?: string;
  /** ASN database (GeoLite2-ASN or ip-location-db asn). */
  asnPath?: string;
  /** How often the files are checked for a change; 0 never. */
  refreshMs: number;
  logger: Logger;
}

export class MmdbIpIntelligence implements IpIntelligence {
  readonly #databases: WatchedDatabase[];
  readonly #geo: WatchedDatabase | undefined;
  readonly #asn: WatchedDatabase | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: MmdbIpIntelligenceOptions) {
    this.#geo = options.geoPath === undefined ? undefined : new WatchedDatabase(options.geoPath, options.logger);
    this.#asn = options.asnPath === undefined ? undefined : new WatchedDatabase(options.asnPath, options.logger);
    this.#databases = [this.#geo, this.#asn].filter((database) => database !== undefined);
  }

  /** Opens every configured file; a file that cannot be opened at boot is a startup error (a typo must not pass). */
  static async open(options: MmdbIpIntelligenceOptions): Promise<MmdbIpIntelligence> {
    const intelligence = new MmdbIpIntelligence(options);
    for (const database of intelligence.#databases) await database.refresh();
    intelligence.#startRefreshing();
    return intelligence;
  }

  lookup(address: string): IpIntelligenceRecord | undefined {
    // Private, loopback and link-local addresses have no place on a map; the files would not know them either.
    if (address === '' || isPrivateIp(address) || !maxmind.validate(address)) return undefined;
    return recordFromMmdb(this.#geo?.get(address) ?? null, this.#asn?.get(address) ?? null);
  }

  /** Checks every file now (the interval calls this; tests call it directly). */
  async refresh(): Promise<boolean> {
    let changed = false;
    for (const database of this.#databases) {
      try {
        changed = (await database.refresh()) || changed;
      } catch (error) {
        this.options.logger.warn({ err: error, path: database.path }, 'geo database refresh failed');
      }
    }
    return changed;
  }

  #startRefreshing(): void {
    if (this.options.refreshMs <= 0 || this.#databases.length === 0) return;
    this.#timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    // Never keeps the process alive on its own.
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
