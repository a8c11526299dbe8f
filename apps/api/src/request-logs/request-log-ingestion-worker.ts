// The BullMQ side of request-log ingestion, apart from request-log-ingestion.ts so that the embedded shape, which
// processes batches in-process (RequestLogBatchProcessor through the control plane), never loads bullmq and its
// dependencies (cron-parser, luxon, msgpackr, semver, its Lua and SQL scripts: ~4 MB of heap at idle).
import { requestLogsQueueName } from '@gatehouse/contracts';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { largeJobBackend } from './large-job-backend';
import type { RequestLogBatchProcessor } from './request-log-ingestion';

/**
 * Jobs one worker process holds at once: enough for two groups of about 4,000 rows (8 full batches) in flight, one
 * being inserted while the next is validated and copied (RequestLogBatchProcessor). 32 held more than the batches one
 * group takes and measured no faster; the durability e2e (Redis killed with batches waiting while the worker is stuck in
 * an insert) needs the worker to leave batches queued in Redis within its 8 s window: at its ~4 batches/s, 16 take ~4 s.
 */
const DEFAULT_CONCURRENCY = 16;

/**
 * The job's data, which the job then lets go of. A job stays in hand until its rows are committed, hundreds of
 * milliseconds with group commit, and its data (a batch as BullMQ parsed it: up to a megabyte of objects) would stay
 * reachable all that time, surviving scavenges to be copied and promoted. Nothing reads it once the batch is validated:
 * a retry or a stalled job is read again from Redis, and the failed-job log names the job by id (issue 18,
 * bench/ingestion-memory.ts).
 */
export function takeJobData(job: Pick<Job, 'data'>): unknown {
  const data: unknown = job.data;
  job.data = undefined;
  return data;
}

export interface RequestLogIngestionWorkerOptions {
  redisUrl: string;
  /** BullMQ key prefix; must match the data planes'. Default `bull`. */
  prefix?: string;
  /** Jobs processed at once by this process (inserts still serialize on the database lock). */
  concurrency?: number;
  /** A job whose worker died is retried after its lock expires (BullMQ stalled-job check). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/**
 * The BullMQ consumer of `request-logs` (DESIGN.md §7), run by `npm run worker` and usable in-process in tests. A
 * job that throws is retried with the backoff the data plane set; a job whose worker was killed is picked up again
 * once its lock expires. Either way the idempotent insert makes the second delivery harmless.
 */
export class RequestLogIngestionWorker {
  readonly #worker: Worker;
  readonly #connection: Redis;

  constructor(
    private readonly processor: RequestLogBatchProcessor,
    private readonly logger: Logger,
    options: RequestLogIngestionWorkerOptions,
  ) {
    this.#connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.#connection.on('error', () => {
      // ioredis reconnects by itself; BullMQ reports failures through the worker's error event.
    });
    this.#worker = new Worker(
      requestLogsQueueName,
      (job: Job) => this.processor.processBatch(takeJobData(job)),
      {
        connection: this.#connection,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
        lockDuration: options.lockDurationMs ?? 10_000,
        stalledInterval: options.stalledIntervalMs ?? 5_000,
        // A killed worker must not turn a batch into a permanent failure after one stall.
        maxStalledCount: 10,
        autorun: false,
      },
      largeJobBackend,
    );
    let lastErrorLogAt = 0;
    this.#worker.on('error', (error) => {
      if (Date.now() - lastErrorLogAt > 10_000) {
        lastErrorLogAt = Date.now();
        this.logger.warn({ err: error }, 'request-log worker error (retrying)');
      }
    });
    this.#worker.on('failed', (job, error) => {
      this.logger.warn({ err: error, job: job?.id, attempts: job?.attemptsMade }, 'request-log batch failed; retrying');
    });
  }

  start(): void {
    void this.#worker.run().catch((error: unknown) => {
      this.logger.error({ err: error }, 'request-log worker stopped');
    });
  }

  async waitUntilReady(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  /** Finishes the jobs in hand, then disconnects. */
  async close(): Promise<void> {
    await this.#worker.close();
    this.#connection.disconnect();
  }
}
