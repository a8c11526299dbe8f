import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createControlPlane,
  InProcessMessageBus,
  type ControlPlane,
  type Env,
  type MessageBus,
} from '@gatehouse/api/control-plane';
import { createDataplane, dataplaneOptionsFromEnv, type Dataplane, type DataplaneEnv } from '@gatehouse/dataplane';
import type { Logger } from 'pino';
import { loadOrCreateSecretsKey } from './secrets-key-file.js';
import { lockDataDirectory } from './data-directory-lock.js';
import { openEmbeddedDatabase, type Storage } from './embedded-database.js';
import { InProcessRequestLogQueue } from './in-process-request-log-queue.js';

/** How often expired request logs are deleted (the distributed worker's schedule). */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface EmbeddedGatehouseOptions {
  /** The control plane's part of the environment. */
  env: Env;
  /** The data plane's part: ports, TLS, data directory, trusted proxies, timeouts. */
  dataplaneEnv: DataplaneEnv;
  logger: Logger;
  dataplaneLogger: Logger;
}

export interface EmbeddedGatehouse {
  apiPort: number;
  dataplanePort: number;
  adminPort: number | null;
  storage: Storage;
  bus: MessageBus['transport'];
  /** Whether no user exists yet (the banner then points at the first-run setup). */
  setupRequired(): Promise<boolean>;
  /** Stops taking traffic, drains in-flight requests and queued request logs, then closes the database. */
  stop(): Promise<void>;
}

/**
 * The embedded shape (DESIGN.md §2): control plane, dashboard and one data plane in this process. Without
 * DATABASE_URL the data lives in PGlite under GATEHOUSE_DATA_DIR, migrated at every boot; without REDIS_URL config
 * events, rate-limit counters and request-log delivery stay in-process. Each part is the same code the distributed
 * shape runs, started through the function its app exports and wired to in-process implementations of the
 * @gatehouse/contracts ports.
 */
export async function startEmbeddedGatehouse(options: EmbeddedGatehouseOptions): Promise<EmbeddedGatehouse> {
  const { dataplaneEnv, logger } = options;
  let { env } = options;
  const dataDirectory = resolve(dataplaneEnv.GATEHOUSE_DATA_DIR);
  await mkdir(dataDirectory, { recursive: true });
  const unlock = await lockDataDirectory(dataDirectory);
  let database;
  try {
    if (env.GATEHOUSE_SECRETS_KEY === undefined)
      env = { ...env, GATEHOUSE_SECRETS_KEY: await loadOrCreateSecretsKey(dataDirectory) };
    database = await openEmbeddedDatabase(env, dataDirectory, logger);
  } catch (error) {
    await unlock();
    throw error;
  }
  const closing: (() => Promise<void>)[] = [database.close, unlock];
  let controlPlane: ControlPlane | undefined;
  let dataplane: Dataplane | undefined;
  let retention: NodeJS.Timeout | undefined;
  const stop = async () => {
    clearInterval(retention);
    // Data plane first: it stops accepting, finishes in-flight requests and flushes its request-log queue into
    // the database, which must still be open for that.
    await dataplane?.stop();
    await controlPlane?.close();
    for (const close of closing) await close();
  };

  try {
    const bus = env.REDIS_URL
      ? undefined
      : new InProcessMessageBus((error, channel) => logger.warn({ err: error, channel }, 'bus listener failed'));
    const running = await createControlPlane(env, { logger, database: database.adapter, bus });
    controlPlane = running;
    const apiPort = await running.listen();

    const queue = new InProcessRequestLogQueue((batch) => running.processRequestLogBatch(batch), logger, 'embedded');
    retention = setInterval(() => {
      running.deleteExpiredRequestLogs().then(
        (deleted) => {
          if (deleted > 0) logger.info({ deleted }, 'request logs expired');
        },
        (error: unknown) => logger.warn({ err: error }, 'request-log retention failed'),
      );
    }, RETENTION_INTERVAL_MS);
    retention.unref();

    const source = running.createConfigSource();
    dataplane = createDataplane(
      await dataplaneOptionsFromEnv(dataplaneEnv, {
        configApi: source,
        changeFeed: source,
        // Agent sessions register with the control plane in this process, not over HTTP.
        agentSessionApi: running.createAgentSessionApi(),
        eventSink: queue,
        logger: options.dataplaneLogger,
        dataDirectory: join(dataDirectory, 'dataplane'),
        dataplaneId: dataplaneEnv.DATAPLANE_ID ?? 'embedded',
        // The API shares this process: an upstream at its port is the gateway too.
        gatewayPorts: [apiPort],
      }),
    );
    const { port: dataplanePort, adminPort } = await dataplane.start();
    running.addGatewayPorts(dataplanePort, ...(adminPort === null ? [] : [adminPort]));
    return {
      apiPort,
      dataplanePort,
      adminPort,
      storage: database.storage,
      bus: running.transport,
      setupRequired: () => running.setupRequired(),
      stop,
    };
  } catch (error) {
    await stop().catch((stopError: unknown) => logger.error({ err: stopError }, 'cleanup after a failed start'));
    throw error;
  }
}
