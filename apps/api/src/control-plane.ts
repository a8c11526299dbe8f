// `@gatehouse/api/control-plane`: the control plane as a library. `main.ts` runs it alone (the distributed shape);
// the embedded shape's composition root (apps/gatehouse) runs it in one process with a data plane. What either needs
// is on the handle, typed: nothing outside this app reaches into Nest's module graph.
import type { AgentSessionApi, ChangeFeed, ConfigApi, RedisNames, RequestLogBatch } from '@gatehouse/contracts';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AgentSessionsService } from './agent-sessions/agent-sessions.service';
import { createApp } from './app.factory';
import { AuthService } from './auth/auth.service';
import { MESSAGE_BUS, type MessageBus, REDIS_NAMES } from './bus/message-bus';
import type { DatabaseAdapter } from './database/prisma.service';
import { EmbeddedConfigSource } from './dataplane-sync/embedded-config-source';
import { DataplaneSyncService } from './dataplane-sync/dataplane-sync.service';
import type { Env } from './env';
import { type BatchResult, RequestLogBatchProcessor } from './request-logs/request-log-ingestion';
import { deleteExpiredRequestLogs } from './request-logs/request-log-retention';
import { RequestLogsRepository } from './request-logs/request-logs.repository';
import { OutboundTargetsService } from './traffic-policy/outbound-targets.service';

export { InProcessMessageBus } from './bus/in-process-message-bus';
export type { MessageBus } from './bus/message-bus';
export { createLogger } from './common/logger';
export type { DatabaseAdapter } from './database/prisma.service';
export { EnvError, parseEnv, type Env } from './env';
export { parseSecretsKey } from './vaults/secrets-cipher';
export type { BatchResult } from './request-logs/request-log-ingestion';

/** What the control plane runs on when its caller provides it; anything unset comes from the environment. */
export interface ControlPlanePorts {
  logger: Logger;
  /** An opened, migrated database (the embedded shape's PGlite); unset → Postgres at DATABASE_URL. */
  database?: DatabaseAdapter;
  /**
   * What connects the control plane's parts when REDIS_URL is unset (the embedded shape's in-process bus); unset →
   * a bus of its own. With REDIS_URL, Redis carries them and this is ignored.
   */
  bus?: MessageBus;
}

export interface ControlPlane {
  /** Serves REST under /api, Swagger UI and the built dashboard on API_PORT; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops serving and closes its database client and Redis connections (not a database its caller opened). */
  close(): Promise<void>;
  /** Whether no user exists yet (the dashboard's first-run setup is open). */
  setupRequired(): Promise<boolean>;
  /** What carries config events and live-tail rows. */
  readonly transport: MessageBus['transport'];
  /** A config source and change feed for a data plane in this process (one per data plane). */
  createConfigSource(): ConfigApi & ChangeFeed;
  /**
   * How a data plane in this process registers and leaves agent sessions: the service the
   * /api/dataplane/agent-sessions routes call, without HTTP.
   */
  createAgentSessionApi(): AgentSessionApi;
  /**
   * Stores one batch of request events exactly as the worker stores a BullMQ job: contract validation, redaction,
   * idempotent insert, live-tail publishing. Rejects when the database does (the caller keeps the batch and retries).
   */
  processRequestLogBatch(batch: RequestLogBatch): Promise<BatchResult>;
  /** Deletes request logs older than REQUEST_LOG_RETENTION_DAYS; resolves with how many. */
  deleteExpiredRequestLogs(): Promise<number>;
  /** Ports of this gateway bound after boot (the embedded data plane's): upstreams there are refused when saved. */
  addGatewayPorts(...ports: number[]): void;
}

export async function createControlPlane(env: Env, ports: ControlPlanePorts): Promise<ControlPlane> {
  const { logger } = ports;
  const app: NestExpressApplication = await createApp(env, logger, { database: ports.database, bus: ports.bus });
  const bus = app.get<MessageBus>(MESSAGE_BUS);
  const names = app.get<RedisNames>(REDIS_NAMES);
  const requestLogs = app.get(RequestLogsRepository, { strict: false });
  const sync = app.get(DataplaneSyncService, { strict: false });
  const auth = app.get(AuthService, { strict: false });
  const outbound = app.get(OutboundTargetsService, { strict: false });
  const agentSessions = app.get(AgentSessionsService, { strict: false });
  const processor = new RequestLogBatchProcessor(
    requestLogs,
    bus,
    logger,
    env.REQUEST_LOG_REDACT_HEADERS,
    names.requestLogsTailChannel,
  );
  return {
    async listen() {
      await app.listen(env.API_PORT);
      const port = (app.getHttpServer().address() as { port: number }).port;
      outbound.addGatewayPorts(port);
      return port;
    },
    close: () => app.close(),
    setupRequired: async () => (await auth.getSetupStatus()).setup_required,
    transport: bus.transport,
    createConfigSource: () => new EmbeddedConfigSource(sync, bus, names.configChannel),
    createAgentSessionApi: () => ({
      registerAgentSession: (request) => agentSessions.registerAgentSession(request),
      leaveAgentSession: (request) => agentSessions.leaveAgentSession(request),
    }),
    processRequestLogBatch: (batch) => processor.processBatch(batch),
    deleteExpiredRequestLogs: () => deleteExpiredRequestLogs(requestLogs, env.REQUEST_LOG_RETENTION_DAYS),
    addGatewayPorts: (...ports) => outbound.addGatewayPorts(...ports),
  };
}
