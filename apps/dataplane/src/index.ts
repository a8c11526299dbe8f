/**
 * @gatehouse/dataplane as a library, for the embedded shape's composition root (apps/gatehouse): build the options
 * from the environment with `dataplaneOptionsFromEnv`, overriding the config source and event sink with in-process
 * ones, and construct the data plane with `createDataplane`. `main.ts` is the distributed shape's entry point. The
 * interfaces a config source and an event sink implement are @gatehouse/contracts' (`ConfigApi`, `ChangeFeed`,
 * `RequestEventSink`).
 */
export { createDataplane, dataplaneVersion, type Dataplane, type DataplaneOptions } from './dataplane.js';
export { dataplaneOptionsFromEnv } from './options-from-env.js';
export { HttpConfigApi, RedisChangeFeed, ConfigApiError } from './config/config-source.js';
export { InProcessConfigSource } from './config/in-process-source.js';
export { LoggingRequestEventSink, MemoryRequestEventSink } from './events/logging-sink.js';
export {
  BullmqRequestEventSink,
  type BullmqRequestEventSinkOptions,
  type BullmqRequestEventSinkStats,
} from './events/bullmq-event-sink.js';
export { RedisRateLimitStore } from './ports/redis-rate-limit-store.js';
export { HttpJwksFetcher } from './ports/http-jwks-fetcher.js';
export { parseDataplaneEnv, EnvError, type DataplaneEnv } from './env.js';
export { createLogger } from './logger.js';
