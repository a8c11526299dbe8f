import {
  type RedisNames,
  type RequestEventInput,
  type RequestLogBatch,
  requestLogBatchJobName,
  requestLogBatchSchema,
  requestLogsQueueName,
} from '@gatehouse/contracts';
import { Queue } from 'bullmq';

export interface RequestLogProducerOptions {
  redisUrl: string;
  /** The installation's Redis names (`redisNames(prefix)`): the worker must use the same BullMQ prefix. */
  names: RedisNames;
  /** Shown as the batches' `source`, as a data plane puts its id there. */
  source?: string;
}

/**
 * Puts request-log batches on the `request-logs` queue the way the contract in `@gatehouse/contracts` describes it
 * (queue name, job name, `RequestLogBatch` data, BullMQ prefix), so the API's tests and bench feed its worker without
 * the data plane's code: they test the consumer of the contract, and the data plane tests its producer.
 */
export class RequestLogProducer {
  readonly #queue: Queue;
  readonly #source: string;

  constructor(options: RequestLogProducerOptions) {
    this.#source = options.source ?? 'api-test';
    this.#queue = new Queue(requestLogsQueueName, {
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      ...(options.names.bullmqPrefix === undefined ? {} : { prefix: options.names.bullmqPrefix }),
      // What a data plane asks for, so the worker's retries behave as in production.
      defaultJobOptions: {
        attempts: 25,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: 1_000,
      },
    });
  }

  /** Adds one job carrying `events`; resolves once Redis has it. */
  async send(events: readonly RequestEventInput[]): Promise<void> {
    await this.#queue.add(requestLogBatchJobName, this.#batchOf(events));
  }

  /** Adds one job per element of `batches` in a single round trip. */
  async sendBatches(batches: readonly (readonly RequestEventInput[])[]): Promise<void> {
    await this.#queue.addBulk(batches.map((events) => ({ name: requestLogBatchJobName, data: this.#batchOf(events) })));
  }

  /** Holds the queue's jobs back from every worker until `resume` (a bench fills the queue before it measures). */
  async pause(): Promise<void> {
    await this.#queue.pause();
  }

  async resume(): Promise<void> {
    await this.#queue.resume();
  }

  /** Removes the queue and every batch in it, whatever their state (a bench cleans up after an interrupted run). */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }

  /** A batch the contract accepts; a test that builds a malformed one fails here, not silently in the worker. */
  #batchOf(events: readonly RequestEventInput[]): RequestLogBatch {
    const batch: RequestLogBatch = { source: this.#source, sent_at: new Date().toISOString(), events: [...events] };
    requestLogBatchSchema.parse(batch);
    return batch;
  }
}
