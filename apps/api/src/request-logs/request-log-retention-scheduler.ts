// The BullMQ job scheduler of retention, apart from request-log-retention.ts so that the embedded shape (an hourly
// timer in apps/gatehouse calling deleteExpiredRequestLogs) never loads bullmq.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { deleteExpiredRequestLogs, type RequestLogPruner } from './request-log-retention';

export const REQUEST_LOG_RETENTION_QUEUE = 'request-log-retention';
const SCHEDULER_ID = 'delete-expired-request-logs';

export interface RequestLogRetentionOptions {
  redisUrl: string;
  retentionDays: number;
  prefix?: string;
  /** How often the job runs (default hourly). */
  everyMs?: number;
}

/**
 * The retention job (REQUEST_LOG_RETENTION_DAYS, default 7), scheduled with a BullMQ job scheduler: however many
 * workers run, the schedule exists once in Redis and each run is executed by one of them.
 */
export class RequestLogRetention {
  readonly #queue: Queue;
  readonly #worker: Worker;
  readonly #connection: Redis;
  readonly #queueConnection: Redis;

  constructor(
    private readonly pruner: RequestLogPruner,
    private readonly logger: Logger,
    private readonly options: RequestLogRetentionOptions,
  ) {
    this.#queueConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.#connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    for (const connection of [this.#queueConnection, this.#connection]) connection.on('error', () => undefined);
    const prefix = options.prefix === undefined ? {} : { prefix: options.prefix };
    this.#queue = new Queue(REQUEST_LOG_RETENTION_QUEUE, { connection: this.#queueConnection, ...prefix });
    this.#queue.on('error', () => undefined);
    this.#worker = new Worker(
      REQUEST_LOG_RETENTION_QUEUE,
      async () => {
        const deleted = await deleteExpiredRequestLogs(this.pruner, this.options.retentionDays);
        if (deleted > 0)
          this.logger.info({ deleted, retention_days: this.options.retentionDays }, 'request logs expired');
        return { deleted };
      },
      { connection: this.#connection, ...prefix, concurrency: 1, autorun: false },
    );
    this.#worker.on('error', (error) => this.logger.warn({ err: error }, 'request-log retention worker error'));
    this.#worker.on('failed', (_job, error) => this.logger.warn({ err: error }, 'request-log retention run failed'));
  }

  async start(): Promise<void> {
    await this.#queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: this.options.everyMs ?? 60 * 60 * 1000 },
      { name: 'delete-expired', opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    void this.#worker.run().catch((error: unknown) => {
      this.logger.error({ err: error }, 'request-log retention worker stopped');
    });
  }

  async close(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
    this.#connection.disconnect();
    this.#queueConnection.disconnect();
  }
}
