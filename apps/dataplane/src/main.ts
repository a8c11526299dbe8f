import { readFile } from 'node:fs/promises';
import { redisNames } from '@gatehouse/contracts';
import { hostname } from 'node:os';
import { HttpConfigApi, RedisChangeFeed } from './config/config-source.js';
import { createDataplane } from './dataplane.js';
import { BullmqRequestEventSink } from './events/bullmq-event-sink.js';
import { EnvError, parseDataplaneEnv } from './env.js';
import { createLogger } from './logger.js';

/** The distributed shape's entry point: environment → options → data plane. Nothing else lives here. */
async function main(): Promise<void> {
  let env;
  try {
    env = parseDataplaneEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL);
  const tls =
    env.DATAPLANE_TLS_CERT !== undefined && env.DATAPLANE_TLS_KEY !== undefined
      ? { cert: await readFile(env.DATAPLANE_TLS_CERT), key: await readFile(env.DATAPLANE_TLS_KEY) }
      : undefined;
  // With Redis, request events go to the request-log pipeline's BullMQ queue; without it, to the log.
  const names = redisNames(env.GATEHOUSE_REDIS_PREFIX);
  const eventSink =
    env.REDIS_URL === undefined
      ? undefined
      : new BullmqRequestEventSink({
          redisUrl: env.REDIS_URL,
          source: env.DATAPLANE_ID ?? `${hostname()}:${env.DATAPLANE_PORT}`,
          logger,
          ...(names.bullmqPrefix === undefined ? {} : { prefix: names.bullmqPrefix }),
        });
  const dataplane = createDataplane({
    port: env.DATAPLANE_PORT,
    host: env.DATAPLANE_HOST,
    adminPort: env.DATAPLANE_ADMIN_PORT,
    ...(tls === undefined ? {} : { tls }),
    configApi: new HttpConfigApi(env.GATEHOUSE_API_URL, env.GATEHOUSE_DATAPLANE_TOKEN),
    ...(env.REDIS_URL === undefined
      ? {}
      : {
          changeFeed: new RedisChangeFeed(env.REDIS_URL, names.configChannel),
          redisUrl: env.REDIS_URL,
          rateLimitKeyPrefix: names.rateLimitKeyPrefix,
        }),
    rateLimitTimeoutMs: env.DATAPLANE_RATE_LIMIT_TIMEOUT_MS,
    ...(eventSink === undefined ? {} : { eventSink }),
    logger,
    dataDirectory: env.GATEHOUSE_DATA_DIR,
    trustedProxies: env.GATEHOUSE_TRUSTED_PROXIES,
    ...(env.DATAPLANE_ID === undefined ? {} : { dataplaneId: env.DATAPLANE_ID }),
    idleTimeoutMs: env.DATAPLANE_IDLE_TIMEOUT_MS,
    ...(env.DATAPLANE_HEARTBEAT_INTERVAL_MS === undefined
      ? {}
      : { heartbeatIntervalMs: env.DATAPLANE_HEARTBEAT_INTERVAL_MS }),
    maxBodyBytes: env.DATAPLANE_MAX_BODY_BYTES,
    collectProcessMetrics: true,
  });
  const { port, adminPort } = await dataplane.start();
  // One machine-readable line for supervisors and tests that start the process on port 0.
  logger.info({ event: 'dataplane.ready', port, adminPort }, 'ready');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    dataplane.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
