import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { RedisNames } from '@gatehouse/contracts';
import type { Dataplane, DataplaneEnv } from '@gatehouse/dataplane';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type * as MigrationScriptsModule from '../../scripts/db-migrate.mjs';
import type { Logger } from 'pino';
import { createApp } from '../app.factory';
import { InProcessMessageBus } from '../bus/in-process-message-bus';
import { MESSAGE_BUS, type MessageBus, REDIS_NAMES } from '../bus/message-bus';
import { DataplaneSyncService } from '../dataplane-sync/dataplane-sync.service';
import type { Env } from '../env';
import { RequestLogBatchProcessor } from '../request-logs/request-log-ingestion';
import { deleteExpiredRequestLogs } from '../request-logs/request-log-retention';
import { RequestLogsRepository } from '../request-logs/request-logs.repository';
import { lockDataDirectory } from './data-directory-lock';
import { EmbeddedConfigSource } from './embedded-config-source';
import { InProcessRequestLogQueue } from './in-process-request-log-queue';

/** How often expired request logs are deleted (the distributed worker's schedule). */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface EmbeddedOptions {
  /** The control plane's part of the environment. */
  env: Env;
  /** The data plane's part: ports, TLS, data directory, trusted proxies, timeouts. */
  dataplaneEnv: DataplaneEnv;
  logger: Logger;
  dataplaneLogger: Logger;
}

export interface EmbeddedGatehouse {
  /** The control plane (for its services, e.g. in tests). */
  app: NestExpressApplication;
  apiPort: number;
  dataplanePort: number;
  adminPort: number | null;
  /** Where the data lives: the PGlite directory, or the Postgres URL without credentials. */
  storage: { kind: 'pglite'; directory: string } | { kind: 'postgres'; database: string };
  bus: MessageBus['transport'];
  /** Stops taking traffic, drains in-flight requests and queued request logs, then closes the database. */
  stop(): Promise<void>;
}

/**
 * The embedded shape (DESIGN.md §2): control plane, dashboard and one data plane in this process. Without
 * DATABASE_URL the data lives in PGlite under GATEHOUSE_DATA_DIR, migrated at every boot; without REDIS_URL config
 * events, rate-limit counters and request-log delivery stay in-process. Each part is the same code the distributed
 * shape runs, wired to in-process implementations of its ports.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedGatehouse> {
  const { env, dataplaneEnv, logger } = options;
  const dataDirectory = resolve(dataplaneEnv.GATEHOUSE_DATA_DIR);
  await mkdir(dataDirectory, { recursive: true });
  const unlock = await lockDataDirectory(dataDirectory);
  let database: OpenDatabase;
  try {
    database = await openDatabase(env, dataDirectory, logger);
  } catch (error) {
    await unlock();
    throw error;
  }
  const closing: (() => Promise<void>)[] = [database.close, unlock];
  let app: NestExpressApplication | undefined;
  let dataplane: Dataplane | undefined;
  let retention: NodeJS.Timeout | undefined;
  const stop = async () => {
    clearInterval(retention);
    // Data plane first: it stops accepting, finishes in-flight requests and flushes its request-log queue into
    // the database, which must still be open for that.
    await dataplane?.stop();
    await app?.close();
    for (const close of closing) await close();
  };

  try {
    const bus = env.REDIS_URL
      ? undefined
      : new InProcessMessageBus((error, channel) => logger.warn({ err: error, channel }, 'bus listener failed'));
    app = await createApp(env, logger, { database: database.adapter, bus });
    await app.listen(env.API_PORT);
    const apiPort = (app.getHttpServer().address() as { port: number }).port;

    const sharedBus = app.get<MessageBus>(MESSAGE_BUS);
    const requestLogs = app.get(RequestLogsRepository, { strict: false });
    const names = app.get<RedisNames>(REDIS_NAMES);
    const processor = new RequestLogBatchProcessor(
      requestLogs,
      sharedBus,
      logger,
      env.REQUEST_LOG_REDACT_HEADERS,
      names.requestLogsTailChannel,
    );
    const queue = new InProcessRequestLogQueue(processor, logger, 'embedded');
    retention = setInterval(() => {
      deleteExpiredRequestLogs(requestLogs, env.REQUEST_LOG_RETENTION_DAYS).then(
        (deleted) => {
          if (deleted > 0) logger.info({ deleted }, 'request logs expired');
        },
        (error: unknown) => logger.warn({ err: error }, 'request-log retention failed'),
      );
    }, RETENTION_INTERVAL_MS);
    retention.unref();

    // ESM package, loaded from this CommonJS module with import().
    const { createDataplane } = await import('@gatehouse/dataplane');
    const source = new EmbeddedConfigSource(
      app.get(DataplaneSyncService, { strict: false }),
      sharedBus,
      names.configChannel,
    );
    dataplane = createDataplane({
      port: dataplaneEnv.DATAPLANE_PORT,
      host: dataplaneEnv.DATAPLANE_HOST,
      adminPort: dataplaneEnv.DATAPLANE_ADMIN_PORT,
      ...(await readTls(dataplaneEnv)),
      configApi: source,
      changeFeed: source,
      // With Redis, counters are shared with any other data plane; without it they live in this process.
      ...(env.REDIS_URL === undefined ? {} : { redisUrl: env.REDIS_URL, rateLimitKeyPrefix: names.rateLimitKeyPrefix }),
      rateLimitTimeoutMs: dataplaneEnv.DATAPLANE_RATE_LIMIT_TIMEOUT_MS,
      eventSink: queue,
      logger: options.dataplaneLogger,
      dataDirectory: join(dataDirectory, 'dataplane'),
      trustedProxies: dataplaneEnv.GATEHOUSE_TRUSTED_PROXIES,
      dataplaneId: dataplaneEnv.DATAPLANE_ID ?? 'embedded',
      idleTimeoutMs: dataplaneEnv.DATAPLANE_IDLE_TIMEOUT_MS,
      ...(dataplaneEnv.DATAPLANE_HEARTBEAT_INTERVAL_MS === undefined
        ? {}
        : { heartbeatIntervalMs: dataplaneEnv.DATAPLANE_HEARTBEAT_INTERVAL_MS }),
      maxBodyBytes: dataplaneEnv.DATAPLANE_MAX_BODY_BYTES,
      collectProcessMetrics: true,
    });
    const { port: dataplanePort, adminPort } = await dataplane.start();
    return {
      app,
      apiPort,
      dataplanePort,
      adminPort,
      storage: database.storage,
      bus: sharedBus.transport,
      stop,
    };
  } catch (error) {
    await stop().catch((stopError: unknown) => logger.error({ err: stopError }, 'cleanup after a failed start'));
    throw error;
  }
}

type MigrationScripts = typeof MigrationScriptsModule;

interface OpenDatabase {
  adapter: PrismaPGlite | undefined;
  storage: EmbeddedGatehouse['storage'];
  close: () => Promise<void>;
}

async function openDatabase(env: Env, dataDirectory: string, logger: Logger): Promise<OpenDatabase> {
  const migrations = await loadMigrations();
  if (env.DATABASE_URL) {
    const result = await migrations.migrateDatabase(env.DATABASE_URL);
    logMigration(logger, result);
    const url = new URL(env.DATABASE_URL);
    return {
      adapter: undefined,
      storage: { kind: 'postgres', database: `${url.hostname}:${url.port || '5432'}${url.pathname}` },
      close: () => Promise.resolve(),
    };
  }
  const directory = join(dataDirectory, 'pgdata');
  await mkdir(directory, { recursive: true });
  const pglite = new PGlite(directory);
  await pglite.waitReady;
  try {
    logMigration(logger, await migrations.migrateEmbeddedDatabase(pglite));
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return {
    adapter: new PrismaPGlite(pglite),
    storage: { kind: 'pglite', directory },
    close: () => pglite.close(),
  };
}

/** The migration scripts `npm run db:migrate` runs (plain ESM next to this app), shared so both paths are one. */
function loadMigrations(): Promise<MigrationScripts> {
  return import('../../scripts/db-migrate.mjs');
}

function logMigration(logger: Logger, result: { applied: string[]; seeded: number }): void {
  if (result.applied.length > 0 || result.seeded > 0) {
    logger.info({ applied: result.applied, seeded_ip_categories: result.seeded }, 'database migrated');
  }
}

async function readTls(env: DataplaneEnv): Promise<{ tls?: { cert: Buffer; key: Buffer } }> {
  if (env.DATAPLANE_TLS_CERT === undefined || env.DATAPLANE_TLS_KEY === undefined) return {};
  const { readFile } = await import('node:fs/promises');
  return { tls: { cert: await readFile(env.DATAPLANE_TLS_CERT), key: await readFile(env.DATAPLANE_TLS_KEY) } };
}
