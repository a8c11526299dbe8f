/**
 * @gatehouse/dataplane as a library, for the embedded shape (API + data plane in one process): construct a data plane
 * with in-process config, counters and event sink. `main.ts` is the distributed shape's entry point.
 */
export { createDataplane, dataplaneVersion, type Dataplane, type DataplaneOptions } from './dataplane.js';
export {
  HttpConfigApi,
  RedisChangeFeed,
  ConfigApiError,
  type ConfigApi,
  type ChangeFeed,
  type ChangeFeedHandlers,
  type SnapshotResult,
  type ChangesResult,
} from './config/config-source.js';
export { InProcessConfigSource } from './config/in-process-source.js';
export { LoggingRequestEventSink, MemoryRequestEventSink } from './events/logging-sink.js';
export {
  BullmqRequestEventSink,
  type BullmqRequestEventSinkOptions,
  type BullmqRequestEventSinkStats,
} from './events/bullmq-event-sink.js';
export type { RequestEvent, RequestEventSink } from './events/request-event.js';
export { RedisRateLimitStore } from './ports/redis-rate-limit-store.js';
export { HttpJwksFetcher } from './ports/http-jwks-fetcher.js';
export { parseDataplaneEnv, EnvError, type DataplaneEnv } from './env.js';
export { createLogger } from './logger.js';
