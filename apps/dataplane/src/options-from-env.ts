import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { compileOutboundRules, redisNames } from '@gatehouse/contracts';
import { HttpAgentSessionApi } from './config/agent-session-api.js';
import { HttpConfigApi, RedisChangeFeed } from './config/config-source.js';
import type { DataplaneOptions } from './dataplane.js';
import type { DataplaneEnv } from './env.js';
import { BullmqRequestEventSink } from './events/bullmq-event-sink.js';
import { createLogger } from './logger.js';
import { bundledGeoDatabase, MmdbIpIntelligence } from './ports/mmdb-ip-intelligence.js';
import { loopIdFromSecret } from './proxy/loop-detection.js';
import { deriveDataplaneSecretsKey, deriveDataplaneSessionSecret } from '@gatehouse/runtime';

/**
 * The one mapping of the data plane's environment onto `DataplaneOptions`, used by the distributed shape's `main.ts`
 * and by the embedded shape's composition root, which differ only in what they override. Without overrides the data
 * plane talks to the API over HTTP and, with REDIS_URL, takes changes from Redis pub/sub, shares its rate-limit
 * counters there and sends request events to the BullMQ queue (without Redis, events go to the log). A default an
 * override replaces is never built, so an embedded data plane opens no HTTP agent and no Redis queue of its own.
 * Reads the TLS certificate and key when DATAPLANE_TLS_CERT / _KEY name them, and the client CAs (mutual TLS) when
 * DATAPLANE_TLS_CLIENT_CA names them.
 */
export async function dataplaneOptionsFromEnv(
  env: DataplaneEnv,
  overrides: Partial<DataplaneOptions> = {},
): Promise<DataplaneOptions> {
  const logger = overrides.logger ?? createLogger(env.LOG_LEVEL);
  const names = redisNames(env.GATEHOUSE_REDIS_PREFIX);
  const tls =
    env.DATAPLANE_TLS_CERT === undefined || env.DATAPLANE_TLS_KEY === undefined
      ? undefined
      : {
          cert: await readFile(env.DATAPLANE_TLS_CERT),
          key: await readFile(env.DATAPLANE_TLS_KEY),
          ...(env.DATAPLANE_TLS_CLIENT_CA === undefined
            ? {}
            : { clientCa: await readFile(env.DATAPLANE_TLS_CLIENT_CA) }),
        };
  const changeFeed =
    overrides.changeFeed ??
    (env.REDIS_URL === undefined ? undefined : new RedisChangeFeed(env.REDIS_URL, names.configChannel));
  const eventSink =
    overrides.eventSink ??
    (env.REDIS_URL === undefined
      ? undefined
      : new BullmqRequestEventSink({
          redisUrl: env.REDIS_URL,
          // Each worker's events name the worker (`cluster/worker.ts` passes its id).
          source: overrides.dataplaneId ?? env.DATAPLANE_ID ?? `${hostname()}:${env.DATAPLANE_PORT}`,
          logger,
          ...(names.bullmqPrefix === undefined ? {} : { prefix: names.bullmqPrefix }),
          maxQueuedBatches: env.DATAPLANE_EVENT_QUEUE_MAX_BATCHES,
          ...(env.DATAPLANE_EVENT_SPILL_MAX_BYTES === 0
            ? {}
            : { spill: { dataDirectory: env.GATEHOUSE_DATA_DIR, maxBytes: env.DATAPLANE_EVENT_SPILL_MAX_BYTES } }),
        }));
  const geoPath = env.GATEHOUSE_GEOIP_DB === 'off' ? undefined : (env.GATEHOUSE_GEOIP_DB ?? bundledGeoDatabase());
  const ipIntelligence =
    overrides.ipIntelligence ??
    (geoPath === undefined && env.GATEHOUSE_ASN_DB === undefined
      ? undefined
      : await MmdbIpIntelligence.open({
          ...(geoPath === undefined ? {} : { geoPath }),
          ...(env.GATEHOUSE_ASN_DB === undefined ? {} : { asnPath: env.GATEHOUSE_ASN_DB }),
          refreshMs: env.GATEHOUSE_GEOIP_REFRESH_SECONDS * 1000,
          logger,
        }));
  const outbound = compileOutboundRules(env.GATEHOUSE_UPSTREAM_ALLOW, env.GATEHOUSE_UPSTREAM_DENY);
  // env.ts already refused bad entries; this cannot fail for a parsed environment.
  if (!outbound.ok) throw new Error(outbound.problems.join('; '));
  return {
    port: env.DATAPLANE_PORT,
    host: env.DATAPLANE_HOST,
    adminPort: env.DATAPLANE_ADMIN_PORT,
    adminHost: env.DATAPLANE_ADMIN_HOST,
    ...(tls === undefined ? {} : { tls }),
    configApi: overrides.configApi ?? new HttpConfigApi(env.GATEHOUSE_API_URL, env.GATEHOUSE_DATAPLANE_TOKEN),
    agentSessionApi:
      overrides.agentSessionApi ?? new HttpAgentSessionApi(env.GATEHOUSE_API_URL, env.GATEHOUSE_DATAPLANE_TOKEN),
    ...(changeFeed === undefined ? {} : { changeFeed }),
    // With Redis, counters are shared by every data plane of the installation; without it they live in this process.
    ...(env.REDIS_URL === undefined ? {} : { redisUrl: env.REDIS_URL, rateLimitKeyPrefix: names.rateLimitKeyPrefix }),
    rateLimitTimeoutMs: env.DATAPLANE_RATE_LIMIT_TIMEOUT_MS,
    compiledPolicies: env.DATAPLANE_COMPILED_POLICIES,
    ...(eventSink === undefined ? {} : { eventSink }),
    logger,
    dataDirectory: env.GATEHOUSE_DATA_DIR,
    trustedProxies: env.GATEHOUSE_TRUSTED_PROXIES,
    ...(ipIntelligence === undefined ? {} : { ipIntelligence }),
    ...(env.GATEHOUSE_SERVER_REGION === undefined ? {} : { serverRegion: env.GATEHOUSE_SERVER_REGION }),
    ...(env.DATAPLANE_ID === undefined ? {} : { dataplaneId: env.DATAPLANE_ID }),
    ...(env.DATAPLANE_PUBLIC_URL === undefined ? {} : { publicUrl: env.DATAPLANE_PUBLIC_URL }),
    idleTimeoutMs: env.DATAPLANE_IDLE_TIMEOUT_MS,
    upstreamMaxConnections: env.DATAPLANE_UPSTREAM_MAX_CONNECTIONS,
    ...(env.DATAPLANE_HEARTBEAT_INTERVAL_MS === undefined
      ? {}
      : { heartbeatIntervalMs: env.DATAPLANE_HEARTBEAT_INTERVAL_MS }),
    maxBodyBytes: env.DATAPLANE_MAX_BODY_BYTES,
    mcpMaxBodyBytes: env.DATAPLANE_MCP_MAX_BODY_BYTES,
    outboundRules: outbound.rules,
    gatewayHostNames: env.GATEHOUSE_GATEWAY_HOSTS,
    snsCertificateHosts: env.GATEHOUSE_SNS_CERT_HOSTS,
    maxProxyHops: env.DATAPLANE_MAX_PROXY_HOPS,
    // Every data plane holding the installation's token shares this CDN-Loop id, so a loop through another data
    // plane of the same installation is recognized too; the HMAC does not reveal the token.
    loopId: loopIdFromSecret(env.GATEHOUSE_DATAPLANE_TOKEN),
    secretsKey: deriveDataplaneSecretsKey(env.GATEHOUSE_DATAPLANE_TOKEN),
    sessionSecrets: [deriveDataplaneSessionSecret(env.GATEHOUSE_DATAPLANE_TOKEN)],
    collectProcessMetrics: true,
    streamGraceMs: env.DATAPLANE_STREAM_GRACE_MS,
    admissionsPerTurn: env.DATAPLANE_ADMISSIONS_PER_TURN,
    ...overrides,
  };
}
