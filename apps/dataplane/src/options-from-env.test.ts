import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpConfigApi, RedisChangeFeed } from './config/config-source.js';
import { InProcessConfigSource } from './config/in-process-source.js';
import { parseDataplaneEnv } from './env.js';
import { MemoryRequestEventSink } from './events/logging-sink.js';
import { createLogger } from './logger.js';
import { dataplaneOptionsFromEnv } from './options-from-env.js';

const token = 'a-token-of-sixteen-chars';

describe('dataplaneOptionsFromEnv', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-options-'));
    await writeFile(join(directory, 'cert.pem'), 'certificate');
    await writeFile(join(directory, 'key.pem'), 'private key');
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('maps every variable onto the options; without Redis: the API over HTTP, local counters, no feed or queue', async () => {
    const options = await dataplaneOptionsFromEnv(
      parseDataplaneEnv({
        GATEHOUSE_DATAPLANE_TOKEN: token,
        DATAPLANE_PORT: '9080',
        DATAPLANE_ADMIN_PORT: '9081',
        DATAPLANE_HOST: '127.0.0.1',
        DATAPLANE_ADMIN_HOST: '0.0.0.0',
        DATAPLANE_ID: 'edge-1',
        DATAPLANE_IDLE_TIMEOUT_MS: '1000',
        DATAPLANE_HEARTBEAT_INTERVAL_MS: '2000',
        DATAPLANE_MAX_BODY_BYTES: '3000',
        DATAPLANE_RATE_LIMIT_TIMEOUT_MS: '40',
        GATEHOUSE_DATA_DIR: directory,
        GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8',
        LOG_LEVEL: 'silent',
      }),
    );
    expect(options).toMatchObject({
      port: 9080,
      adminPort: 9081,
      adminHost: '0.0.0.0',
      host: '127.0.0.1',
      dataplaneId: 'edge-1',
      idleTimeoutMs: 1000,
      heartbeatIntervalMs: 2000,
      maxBodyBytes: 3000,
      rateLimitTimeoutMs: 40,
      dataDirectory: directory,
      trustedProxies: ['10.0.0.0/8'],
      collectProcessMetrics: true,
    });
    expect(options.configApi).toBeInstanceOf(HttpConfigApi);
    expect(options.logger?.level).toBe('silent');
    for (const absent of ['changeFeed', 'eventSink', 'redisUrl', 'rateLimitKeyPrefix', 'tls'] as const) {
      expect(options[absent], absent).toBeUndefined();
    }
    await (options.configApi as HttpConfigApi).close();
  });

  it('with REDIS_URL: the change feed on the installation channel and counters under its prefix', async () => {
    const options = await dataplaneOptionsFromEnv(
      parseDataplaneEnv({
        GATEHOUSE_DATAPLANE_TOKEN: token,
        REDIS_URL: 'redis://127.0.0.1:1',
        GATEHOUSE_REDIS_PREFIX: 'staging',
        LOG_LEVEL: 'silent',
      }),
      // Replaced here so that nothing connects to Redis in a unit test.
      { eventSink: new MemoryRequestEventSink() },
    );
    expect(options.changeFeed).toBeInstanceOf(RedisChangeFeed);
    expect(options.redisUrl).toBe('redis://127.0.0.1:1');
    expect(options.rateLimitKeyPrefix).toMatch(/^staging/);
    await (options.configApi as HttpConfigApi).close();
  });

  it('reads the TLS certificate and key the environment names, and fails when one is missing', async () => {
    const environment = {
      GATEHOUSE_DATAPLANE_TOKEN: token,
      DATAPLANE_TLS_CERT: join(directory, 'cert.pem'),
      DATAPLANE_TLS_KEY: join(directory, 'key.pem'),
    };
    const options = await dataplaneOptionsFromEnv(parseDataplaneEnv(environment), {
      configApi: new InProcessConfigSource({ snapshot: () => ({}) as never, changesSince: () => [] }),
    });
    expect(options.tls?.cert.toString()).toBe('certificate');
    expect(options.tls?.key.toString()).toBe('private key');
    await expect(
      dataplaneOptionsFromEnv(parseDataplaneEnv({ ...environment, DATAPLANE_TLS_KEY: join(directory, 'missing.pem') })),
    ).rejects.toThrow(/ENOENT/);
  });

  it('reads the client CAs for mutual TLS when DATAPLANE_TLS_CLIENT_CA names them', async () => {
    const environment = {
      GATEHOUSE_DATAPLANE_TOKEN: token,
      DATAPLANE_TLS_CERT: join(directory, 'cert.pem'),
      DATAPLANE_TLS_KEY: join(directory, 'key.pem'),
    };
    const configApi = new InProcessConfigSource({ snapshot: () => ({}) as never, changesSince: () => [] });
    const plain = await dataplaneOptionsFromEnv(parseDataplaneEnv(environment), { configApi });
    expect(plain.tls?.clientCa).toBeUndefined();
    const mutual = await dataplaneOptionsFromEnv(
      parseDataplaneEnv({ ...environment, DATAPLANE_TLS_CLIENT_CA: join(directory, 'cert.pem') }),
      { configApi },
    );
    expect(mutual.tls?.clientCa?.toString()).toBe('certificate');
  });

  it('lets the embedded shape replace the config source, feed, sink, logger and directory, building none of the defaults', async () => {
    const source = new InProcessConfigSource({ snapshot: () => ({}) as never, changesSince: () => [] });
    const sink = new MemoryRequestEventSink();
    const logger = createLogger('silent');
    const options = await dataplaneOptionsFromEnv(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: token, REDIS_URL: 'redis://127.0.0.1:1' }),
      {
        configApi: source,
        changeFeed: source,
        eventSink: sink,
        logger,
        dataDirectory: '/elsewhere',
        dataplaneId: 'embedded',
      },
    );
    expect(options.configApi).toBe(source);
    expect(options.changeFeed).toBe(source);
    expect(options.eventSink).toBe(sink);
    expect(options.logger).toBe(logger);
    expect(options).toMatchObject({
      dataDirectory: '/elsewhere',
      dataplaneId: 'embedded',
      redisUrl: 'redis://127.0.0.1:1',
    });
  });

  it('loads the bundled geo database by default, an operator file or none, and the server region', async () => {
    const base = { GATEHOUSE_DATAPLANE_TOKEN: token, GATEHOUSE_DATA_DIR: directory, LOG_LEVEL: 'silent' };
    const defaults = await dataplaneOptionsFromEnv(parseDataplaneEnv({ ...base, GATEHOUSE_SERVER_REGION: ' eu ' }));
    expect(defaults.serverRegion).toBe('eu');
    expect(defaults.ipIntelligence?.lookup('8.8.8.8')).toMatchObject({ countryCode: 'US' });
    defaults.ipIntelligence?.close?.();
    const off = await dataplaneOptionsFromEnv(parseDataplaneEnv({ ...base, GATEHOUSE_GEOIP_DB: 'off' }));
    expect(off.ipIntelligence).toBeUndefined();
    expect(off.serverRegion).toBeUndefined();
    // A path that does not exist fails the boot rather than serving empty geo without a word.
    await expect(
      dataplaneOptionsFromEnv(parseDataplaneEnv({ ...base, GATEHOUSE_GEOIP_DB: join(directory, 'missing.mmdb') })),
    ).rejects.toThrow(/missing\.mmdb/);
  });
});
