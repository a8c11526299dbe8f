import {
  requestLogBatchMaxEvents,
  requestLogBatchMaxWaitMs,
  type RequestEvent,
  type RequestEventSink,
  type RequestLogBatch,
} from '@gatehouse/contracts';
import type { Logger } from 'pino';

/** Stores one batch (the control plane's `processRequestLogBatch`); rejects when the batch must be tried again. */
export type StoreRequestLogBatch = (batch: RequestLogBatch) => Promise<unknown>;

export interface InProcessRequestLogQueueOptions {
  /** Events held while the database is slow; beyond this, new events are dropped and counted. */
  maxBufferedEvents?: number;
  /** After a failed insert, how long to wait before the same batch is tried again. */
  retryDelayMs?: number;
  /** On close, how long to keep trying to store what is buffered. */
  closeTimeoutMs?: number;
}

/**
 * The embedded shape's request-log queue (DESIGN.md §7 without BullMQ): the data plane's events are batched exactly
 * as the BullMQ sink batches them and handed to the control plane's batch processor, the one the worker runs, so
 * validation, redaction, idempotent inserts and live-tail publishing are one code path in both shapes. `emit` never
 * waits and never throws; a batch whose insert fails stays at the head of the buffer and is retried.
 */
export class InProcessRequestLogQueue implements RequestEventSink {
  readonly #buffer: RequestEvent[] = [];
  readonly #maxBuffered: number;
  readonly #retryDelayMs: number;
  readonly #closeTimeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #dropped = 0;

  constructor(
    private readonly store: StoreRequestLogBatch,
    private readonly logger: Logger,
    private readonly source: string,
    options: InProcessRequestLogQueueOptions = {},
  ) {
    this.#maxBuffered = options.maxBufferedEvents ?? 20_000;
    this.#retryDelayMs = options.retryDelayMs ?? 1_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  }

  emit(event: RequestEvent): boolean {
    if (this.#closed || this.#buffer.length >= this.#maxBuffered) {
      this.#dropped += 1;
      return false;
    }
    this.#buffer.push(event);
    if (this.#buffer.length >= requestLogBatchMaxEvents) this.#schedule(0);
    else this.#schedule(requestLogBatchMaxWaitMs);
    return true;
  }

  droppedEvents(): number {
    return this.#dropped;
  }

  /** Events waiting to be stored. */
  get buffered(): number {
    return this.#buffer.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + this.#closeTimeoutMs;
    while (Date.now() < deadline) {
      await this.#flushing;
      if (this.#buffer.length === 0) return;
      if (!(await this.#flushOnce())) await delay(Math.min(this.#retryDelayMs, Math.max(0, deadline - Date.now())));
    }
    if (this.#buffer.length > 0) {
      this.#dropped += this.#buffer.length;
      this.logger.warn({ lost: this.#buffer.length }, 'request-log queue closed with events it could not store');
      this.#buffer.length = 0;
    }
  }

  /** Arms the flush timer unless an earlier (or equally early) flush is already due. */
  #schedule(afterMs: number): void {
    if (this.#closed || this.#flushing) return;
    if (this.#timer !== undefined) {
      if (afterMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#drain().finally(() => {
        this.#flushing = undefined;
        if (this.#buffer.length > 0) this.#schedule(requestLogBatchMaxWaitMs);
      });
    }, afterMs);
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0 && !this.#closed) {
      if (!(await this.#flushOnce())) {
        await delay(this.#retryDelayMs);
        return;
      }
    }
  }

  /** Stores the head batch; false (batch kept) when the insert failed. */
  async #flushOnce(): Promise<boolean> {
    const batch = this.#buffer.slice(0, requestLogBatchMaxEvents);
    try {
      await this.store({ source: this.source, events: batch });
    } catch (error) {
      this.logger.warn({ err: error, events: batch.length }, 'storing request logs failed; retrying');
      return false;
    }
    this.#buffer.splice(0, batch.length);
    return true;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
