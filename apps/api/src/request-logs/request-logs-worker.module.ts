import type { RedisNames } from '@gatehouse/contracts';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { ENV, type Env } from '../env';
import { MESSAGE_BUS, type MessageBus, REDIS_NAMES } from '../bus/message-bus';
import { RequestLogBatchProcessor } from './request-log-ingestion';
import { RequestLogIngestionWorker } from './request-log-ingestion-worker';
import { RequestLogRetention } from './request-log-retention-scheduler';
import { RequestLogsRepository } from './request-logs.repository';

/** Runs request-log ingestion and retention inside `npm run worker`. */
@Injectable()
export class RequestLogWorkersHost implements OnApplicationBootstrap, OnApplicationShutdown {
  #ingestion: RequestLogIngestionWorker | undefined;
  #retention: RequestLogRetention | undefined;

  constructor(
    private readonly repository: RequestLogsRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(REDIS_NAMES) private readonly names: RedisNames,
    @Inject(ENV) private readonly env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const redisUrl = this.env.REDIS_URL;
    if (!redisUrl) throw new Error('REDIS_URL is required for the request-log worker');
    const processor = new RequestLogBatchProcessor(
      this.repository,
      this.bus,
      this.logger,
      this.env.REQUEST_LOG_REDACT_HEADERS,
      this.names.requestLogsTailChannel,
    );
    const prefix = this.names.bullmqPrefix === undefined ? {} : { prefix: this.names.bullmqPrefix };
    this.#ingestion = new RequestLogIngestionWorker(processor, this.logger, { redisUrl, ...prefix });
    this.#ingestion.start();
    this.#retention = new RequestLogRetention(this.repository, this.logger, {
      redisUrl,
      retentionDays: this.env.REQUEST_LOG_RETENTION_DAYS,
      ...prefix,
    });
    await this.#retention.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.#ingestion?.close();
    await this.#retention?.close();
  }
}

@Module({ providers: [RequestLogsRepository, RequestLogWorkersHost] })
export class RequestLogsWorkerModule {}
