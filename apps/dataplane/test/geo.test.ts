import { copyFile, mkdtemp, rm, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { bundledGeoDatabase, MmdbIpIntelligence, recordFromMmdb } from '../src/ports/mmdb-ip-intelligence.js';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';

/**
 * `conn.geo.*` and `conn.server_region` against the real bundled MMDB (public-domain country data) and a real data
 * plane. Expectations use public anycast/registry addresses whose country is stable: 8.8.8.8 (Google, US) and
 * 81.2.69.160 (MaxMind's own test address in GB).
 */

const logger = createLogger('silent');
const ipv4Only = createRequire(import.meta.url).resolve(
  '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv4.mmdb',
);

describe('the MMDB geo port', () => {
  let intelligence: MmdbIpIntelligence;
  beforeAll(async () => {
    intelligence = await MmdbIpIntelligence.open({ geoPath: bundledGeoDatabase(), refreshMs: 0, logger });
  });
  afterAll(() => intelligence.close());

  it('knows the country of public addresses, v4 and v6, with its English name', () => {
    expect(intelligence.lookup('8.8.8.8')).toEqual({
      country: 'United States',
      countryCode: 'US',
      continent: 'North America',
      registeredCountryCode: 'US',
    });
    expect(intelligence.lookup('81.2.69.160')).toMatchObject({ countryCode: 'GB', country: 'United Kingdom' });
    expect(intelligence.lookup('2001:4860:4860::8888')).toMatchObject({ countryCode: 'US' });
  });

  it('has nothing for private, loopback and malformed addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '::1', 'fd00::1', '', 'not-an-ip'])
      expect(intelligence.lookup(address), address).toBeUndefined();
  });

  it('maps the MaxMind City and ASN layouts', () => {
    expect(
      recordFromMmdb(
        {
          city: { names: { en: 'Strongsville' } },
          country: { iso_code: 'US', names: { en: 'United States' } },
          registered_country: { iso_code: 'IE' },
          continent: { names: { en: 'North America' } },
          location: { latitude: 41.3145, longitude: -81.8357, accuracy_radius: 5 },
          subdivisions: [{ names: { en: 'Ohio' } }],
        },
        { autonomous_system_number: 16509, autonomous_system_organization: 'AMAZON-02' },
      ),
    ).toEqual({
      city: 'Strongsville',
      country: 'United States',
      countryCode: 'US',
      continent: 'North America',
      registeredCountryCode: 'IE',
      latitude: 41.3145,
      longitude: -81.8357,
      radiusKm: 5,
      subdivision: 'Ohio',
      asNumber: 16509,
      asOrganization: 'AMAZON-02',
    });
  });

  it('refuses a missing file at boot, and follows a file replaced in place', async () => {
    await expect(MmdbIpIntelligence.open({ geoPath: '/nonexistent/geo.mmdb', refreshMs: 0, logger })).rejects.toThrow();
    const directory = await mkdtemp(join(tmpdir(), 'gatehouse-geo-'));
    try {
      const path = join(directory, 'geo.mmdb');
      // The IPv4-only file first: it knows no IPv6 address.
      await copyFile(ipv4Only, path);
      const watched = await MmdbIpIntelligence.open({ geoPath: path, refreshMs: 0, logger });
      expect(watched.lookup('2001:4860:4860::8888')).toBeUndefined();
      expect(await watched.refresh()).toBe(false);
      await copyFile(bundledGeoDatabase(), path);
      await utimes(path, new Date(), new Date(Date.now() + 5_000));
      expect(await watched.refresh()).toBe(true);
      expect(watched.lookup('2001:4860:4860::8888')).toMatchObject({ countryCode: 'US' });
      // A broken replacement keeps the loaded copy serving.
      await rm(path);
      expect(await watched.refresh()).toBe(false);
      expect(watched.lookup('8.8.8.8')).toMatchObject({ countryCode: 'US' });
      watched.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('conn.geo.* and conn.server_region on the wire', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let intelligence: MmdbIpIntelligence;

  beforeAll(async () => {
    await config.start();
    await config.upsertEndpoint({
      id: 'ep_geo',
      url: 'https://geo.example.com',
      traffic_policy: `on_http_request:
  - expressions: ["conn.geo.country_code in ['GB']"]
    actions: [{ type: deny, config: { status_code: 451 } }]
  - actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${conn.client_ip}|\${conn.geo.country_code}|\${conn.geo.country}|\${conn.geo.city}|\${conn.server_region}|\${conn.client_ip.geo.location.continent}|\${conn.client_ip.geo.location.is_eu}"
`,
    });
    // A public agent endpoint may have on_tcp_connect (ngrok allows it); no agent is connected, so an admitted
    // request ends at the offline agent, while a refused connection is closed before that.
    await config.upsertEndpoint({
      id: 'ep_laptop',
      url: 'https://laptop.example.com',
      type: 'agent',
      agent: { pooling_enabled: false, members: [{ session_id: 'as_offline', upstream: 'http://127.0.0.1:9' }] },
      traffic_policy: `on_tcp_connect:
  - expressions: ["conn.geo.country_code == 'GB'"]
    actions: [{ type: deny }]
`,
    });
    intelligence = await MmdbIpIntelligence.open({ geoPath: bundledGeoDatabase(), refreshMs: 0, logger });
    gateway = await startDataplane(config, {
      trustedProxies: ['127.0.0.1/32'],
      ipIntelligence: intelligence,
      serverRegion: 'eu',
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    intelligence.close();
  });

  const get = (forwardedFor?: string) =>
    httpRequest({
      port: gateway.port,
      host: 'geo.example.com',
      ...(forwardedFor === undefined ? {} : { headers: { 'x-forwarded-for': forwardedFor } }),
    });

  it('a public client behind the trusted proxy gets its country; the region is the configured one', async () => {
    const response = await get('8.8.8.8');
    expect(response.status).toBe(200);
    // The bundled database is country-level: the city reads empty, as ngrok's would for an unknown city.
    expect(response.body).toBe('8.8.8.8|US|United States||eu|North America|false');
    // The request's replay facts keep what the database said, so a replay judges a draft on the same country.
    const event = await eventually(() => gateway.sink.events.find((candidate) => candidate.client_ip === '8.8.8.8'));
    expect(event.replay?.client_geo).toEqual({
      country: 'United States',
      country_code: 'US',
      continent: 'North America',
      registered_country_code: 'US',
    });
  });

  it('an EU client is in the EU', async () => {
    // 81.2.69.160 is GB (denied above); 193.0.0.0/21 is the RIPE NCC in the Netherlands.
    expect((await get('193.0.6.139')).body).toBe('193.0.6.139|NL|Netherlands||eu|Europe|true');
  });

  it("ngrok's block-countries rule denies by country", async () => {
    expect((await get('81.2.69.160')).status).toBe(451);
  });

  it('a loopback or private client has no geo', async () => {
    expect((await get()).body).toBe('127.0.0.1||||eu||false');
    expect((await get('10.0.0.7')).body).toBe('10.0.0.7||||eu||false');
  });

  it('runs on_tcp_connect on a public agent endpoint: a refused country is disconnected, others reach the agent', async () => {
    const laptop = (forwardedFor: string) =>
      httpRequest({ port: gateway.port, host: 'laptop.example.com', headers: { 'x-forwarded-for': forwardedFor } });
    await expect(laptop('81.2.69.160')).rejects.toThrow(/socket hang up|ECONNRESET/);
    const admitted = await laptop('8.8.8.8');
    expect(admitted.status).toBe(502);
    expect(admitted.headers['gatehouse-error-code']).toBe('ENDPOINT_OFFLINE');
  });
});
