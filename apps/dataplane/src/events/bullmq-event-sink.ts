import {
  redactedHeaderSet,
  redactLogMetadata,
  requestLogBatchJobName,
  requestLogBatchMaxEvents,
  requestLogBatchMaxWaitMs,
  requestLogsQueueName,
  withoutRedactedHeaders,
  type RequestEventInput,
  type RequestLogBatch,
} from '@gatehouse/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RequestEvent, RequestEventSink } from './request-event.js';

export interface BullmqRequestEventSinkOptions {
  /** The Redis that carries the `request-logs` queue (the API's worker consumes it). */
  redisUrl: string;
  /** Shown in the batch as `source` (diagnostics): the data plane id. */
  source?: string;
  /** BullMQ key prefix; must match the worker's. Default `bull`. */
  prefix?: string;
  /** A batch is sent after this long (from its first event) or at `maxBatchEvents`, whichever comes first. */
  maxBatchWaitMs?: number;
  maxBatchEvents?: number;
  /** Events kept in memory while Redis is slow or down; beyond this, new events are dropped and counted. */
  maxBufferedEvents?: number;
  /** How long one send may take before it counts as failed (the batch stays buffered and is sent again). */
  sendTimeoutMs?: number;
  /** Delay before retrying after a failed send, doubling up to `maxRetryDelayMs`. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** On close, how long to keep trying to deliver what is buffered. */
  closeTimeoutMs?: number;
  /** Header names removed (besides Authorization, Proxy-Authorization, Cookie, Set-Cookie, always removed). */
  redactHeaders?: readonly string[];
  /** Attempts the worker gets per batch (BullMQ retries a failed job with exponential backoff). */
  jobAttempts?: number;
  logger?: Logger;
}

/** Counters for /metrics (cumulative, except `buffered`). */
export interface BullmqRequestEventSinkStats {
  /** Events accepted by emit(). */
  accepted: number;
  /** Events in jobs Redis acknowledged. */
  delivered: number;
  /** Events refused: the buffer was full or the sink closed (emit returned false). */
  dropped: number;
  /** Events waiting in memory now. */
  buffered: number;
  /** Jobs added to the queue. */
  batches: number;
  /** Sends that failed or timed out (the batch was kept and retried). */
  sendFailures: number;
}

/**
 * Delivers request events to the API's worker through the BullMQ queue `request-logs` (DESIGN.md §7), one job per
 * batch of at most 500 events or 250 ms. `emit` only appends to an in-memory buffer and returns at once; sending
 * happens off the request path, one batch at a time. When Redis is down or slow the buffer grows up to
 * `maxBufferedEvents` and the oldest unsent batch is retried with backoff; past the bound new events are dropped and
 * counted, never blocking or failing traffic. Delivery is at least once (a send that timed out may still have
 * landed): the worker's insert is idempotent by event id.
 */
export class BullmqRequestEventSink implements RequestEventSink {
  readonly #queue: Queue;
  readonly #redis: Redis;
  readonly #source: string;
  readonly #maxBatchWaitMs: number;
  readonly #maxBatchEvents: number;
  readonly #maxBufferedEvents: number;
  readonly #sendTimeoutMs: number;
  readonly #minRetryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #closeTimeoutMs: number;
  readonly #redacted: ReadonlySet<string>;
  readonly #logger: Logger | undefined;

  #buffer: RequestEventInput[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #retryDelayMs = 0;
  #closed = false;
  #lastFailureLogAt = 0;
  readonly #stats = { accepted: 0, delivered: 0, dropped: 0, batches: 0, sendFailures: 0 };

  constructor(options: BullmqRequestEventSinkOptions) {
    this.#source = options.source ?? '';
    this.#maxBatchWaitMs = options.maxBatchWaitMs ?? requestLogBatchMaxWaitMs;
    this.#maxBatchEvents = options.maxBatchEvents ?? requestLogBatchMaxEvents;
    this.#maxBufferedEvents = options.maxBufferedEvents ?? 50_000;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 5_000;
    this.#minRetryDelayMs = options.minRetryDelayMs ?? 250;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    this.#redacted = redactedHeaderSet(options.redactHeaders ?? []);
    this.#logger = options.logger;
    // No offline queue: while Redis is down a send fails at once and the batch stays in our bounded buffer, instead
    // of piling up unbounded inside ioredis. ioredis keeps reconnecting in the background.
    this.#redis = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    this.#redis.on('error', () => {
      // Reported through failed sends (rate-limited log line); every reconnect attempt would flood the log.
    });
    this.#queue = new Queue(requestLogsQueueName, {
      // BullMQ waits for the first connection before its setup commands (they would fail without an offline queue).
      connection: this.#redis,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      defaultJobOptions: {
        attempts: options.jobAttempts ?? 25,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: 1_000,
      },
    });
    this.#queue.on('error', () => {
      // Same as above: surfaced by the send that failed.
    });
  }

  get stats(): BullmqRequestEventSinkStats {
    return { ...this.#stats, buffered: this.#buffer.length };
  }

  droppedEvents(): number {
    return this.#stats.dropped;
  }

  failedSends(): number {
    return this.#stats.sendFailures;
  }

  emit(event: RequestEvent): boolean {
    try {
      if (this.#closed || this.#buffer.length >= this.#maxBufferedEvents) {
        this.#stats.dropped += 1;
        return false;
      }
      this.#buffer.push(this.#redact(event));
      this.#stats.accepted += 1;
      if (this.#sending === undefined && this.#retryDelayMs === 0) {
        if (this.#buffer.length >= this.#maxBatchEvents) this.#schedule(0);
        else if (this.#timer === undefined) this.#schedule(this.#maxBatchWaitMs);
      }
      return true;
    } catch {
      this.#stats.dropped += 1;
      return false;
    }
  }

  /** Sends everything buffered now (tests, shutdown). Resolves when the buffer is empty or a send failed. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#sending !== undefined) await this.#sending;
    if (this.#buffer.length > 0) await this.#startSending();
  }

  /** Stops accepting events, tries to deliver the buffer for up to `closeTimeoutMs`, then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = Date.now() + this.#closeTimeoutMs;
    while (this.#buffer.length > 0 && Date.now() < deadline) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (this.#sending !== undefined) await this.#sending;
      else await this.#startSending();
      if (this.#buffer.length > 0 && this.#retryDelayMs > 0) await sleep(Math.min(100, deadline - Date.now()));
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#buffer.length > 0) {
      this.#logger?.warn({ undelivered: this.#buffer.length }, 'request events not delivered before shutdown');
      this.#stats.dropped += this.#buffer.length;
      this.#buffer = [];
    }
    await this.#queue.close().catch(() => undefined);
    this.#redis.disconnect();
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#startSending();
    }, delayMs);
    // Buffered events must not keep a stopping process alive; close() delivers them explicitly.
    this.#timer.unref();
  }

  #startSending(): Promise<void> {
    this.#sending ??= this.#sendLoop().finally(() => {
      this.#sending = undefined;
      this.#scheduleNext();
    });
    return this.#sending;
  }

  /** Sends full batches back to back; a partial batch waits for its timer; a failure backs off. */
  async #sendLoop(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.slice(0, this.#maxBatchEvents);
      try {
        await this.#send(batch);
      } catch (error) {
        this.#stats.sendFailures += 1;
        this.#retryDelayMs = Math.min(this.#maxRetryDelayMs, Math.max(this.#minRetryDelayMs, this.#retryDelayMs * 2));
        if (Date.now() - this.#lastFailureLogAt > 10_000) {
          this.#lastFailureLogAt = Date.now();
          this.#logger?.warn(
            { err: error, buffered: this.#buffer.length },
            'request-log queue unavailable; buffering events in memory',
          );
        }
        return;
      }
      // Only now leave the buffer: a batch that failed is retried as the oldest, so order is kept.
      this.#buffer.splice(0, batch.length);
      this.#stats.delivered += batch.length;
      this.#stats.batches += 1;
      this.#retryDelayMs = 0;
      if (this.#buffer.length < this.#maxBatchEvents && !this.#closed) return;
    }
  }

  #scheduleNext(): void {
    if (this.#buffer.length === 0 || this.#closed) return;
    if (this.#retryDelayMs > 0) this.#schedule(this.#retryDelayMs);
    else if (this.#buffer.length >= this.#maxBatchEvents) this.#schedule(0);
    else this.#schedule(this.#maxBatchWaitMs);
  }

  async #send(events: RequestEventInput[]): Promise<void> {
    // Fail fast while disconnected rather than leave an add() pending that would land later as a duplicate.
    if (this.#redis.status !== 'ready') throw new Error(`Redis is ${this.#redis.status}`);
    const data: RequestLogBatch = { source: this.#source, sent_at: new Date().toISOString(), events };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#queue.add(requestLogBatchJobName, data),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('request-log send timed out')), this.#sendTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Secret headers never leave the process (the worker checks again). */
  #redact(event: RequestEvent): RequestEventInput {
    const { request_headers: requestHeaders, response_headers: responseHeaders } = event;
    const hasRequestHeaders = requestHeaders !== undefined && requestHeaders !== null;
    const hasResponseHeaders = responseHeaders !== undefined && responseHeaders !== null;
    if (event.logs.length === 0 && !hasRequestHeaders && !hasResponseHeaders) return event;
    return {
      ...event,
      logs: redactLogMetadata(event.logs, this.#redacted),
      ...(hasRequestHeaders ? { request_headers: withoutRedactedHeaders(requestHeaders, this.#redacted) } : {}),
      ...(hasResponseHeaders ? { response_headers: withoutRedactedHeaders(responseHeaders, this.#redacted) } : {}),
    };
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));
}
