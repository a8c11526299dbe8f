import {
  redactedHeaderSet,
  redactLogMetadata,
  requestLogBatchJobName,
  requestLogBatchMaxEvents,
  requestLogBatchMaxWaitMs,
  requestLogsQueueName,
  withoutRedactedHeaders,
  type RequestEventInput,
} from '@gatehouse/contracts';
import type { QueueOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EventBatches } from './event-batches.js';
import { EventSpill } from './event-spill.js';
import type { RawJson, RawJsonQueue } from './raw-json-queue.js';
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
  /**
   * Where undelivered events go instead of being dropped (GATEHOUSE_DATA_DIR): at shutdown while Redis is down, and
   * while running when the in-memory buffer is full. They are delivered once Redis answers (at the next start at the
   * latest). `maxBytes` bounds this process's spill file; past it events are dropped, logged and counted. After
   * `afterFailingMs` (default 30 s) of failed sends, what is buffered goes to disk too, so a crash during a long
   * outage loses at most what arrived since the last failed send.
   */
  spill?: { dataDirectory: string; maxBytes: number; afterFailingMs?: number };
  /** Attempts the worker gets per batch (BullMQ retries a failed job with exponential backoff). */
  jobAttempts?: number;
  /**
   * The most batches that may wait in the `request-logs` queue (every data plane's together: waiting, or delayed for
   * a retry) before this sink stops adding more and keeps its events itself — in memory, then in the spill file,
   * as while Redis is down. A stopped or slow worker must not fill the Redis that rate limits and config propagation
   * depend on. 0 or unset: no bound.
   */
  maxQueuedBatches?: number;
  /** How long a reading of the queue's backlog is trusted while it is under the bound (default 1 s). */
  queueCheckIntervalMs?: number;
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
  /** Events written to the spill file (they are delivered from there later). */
  spilled: number;
  /** Events delivered from spill files (this run's and earlier runs'). */
  replayed: number;
  /** Sends held back because the queue held `maxQueuedBatches` (the batch stayed buffered and is sent later). */
  deferredSends: number;
  /** Batches waiting in the queue at the last reading (every data plane's); undefined before one, or with no bound. */
  queuedBatches: number | undefined;
}

/** A send held back: the queue already holds as many batches as the bound allows. */
class QueueFullError extends Error {
  constructor(
    readonly queuedBatches: number,
    readonly maxQueuedBatches: number,
  ) {
    super(`the request-log queue holds ${queuedBatches} batches (bound ${maxQueuedBatches})`);
  }
}

/**
 * Delivers request events to the API's worker through the BullMQ queue `request-logs` (DESIGN.md §7), one job per
 * batch of at most 500 events or 250 ms. `emit` only appends to an in-memory buffer and returns at once; sending
 * happens off the request path, one batch at a time. When Redis is down or slow the buffer grows up to
 * `maxBufferedEvents` and the oldest unsent batch is retried with backoff; past the bound new events are dropped and
 * counted, never blocking or failing traffic. A queue that already holds `maxQueuedBatches` (the worker is stopped or
 * behind) is treated the same way: the batch waits here rather than in Redis. Delivery is at least once (a send that
 * timed out may still have landed): the worker's insert is idempotent by event id.
 */
export class BullmqRequestEventSink implements RequestEventSink {
  /**
   * The queue, created at the first send (or delivery from disk): importing bullmq is a large share of a data plane's
   * start, and until an event is sent nothing needs it. `#redis` connects at construction as before.
   */
  #queue: Promise<{ queue: RawJsonQueue; RawJson: typeof RawJson }> | undefined;
  readonly #queueOptions: QueueOptions;
  readonly #redis: Redis;
  readonly #source: string;
  readonly #maxBatchWaitMs: number;
  readonly #maxBatchEvents: number;
  readonly #maxBufferedEvents: number;
  readonly #sendTimeoutMs: number;
  readonly #minRetryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #closeTimeoutMs: number;
  readonly #maxQueuedBatches: number;
  readonly #queueCheckIntervalMs: number;
  /**
   * The queue's backlog at the last reading plus the batches this sink added since, and when it was read (a
   * `performance.now()`). Other data planes' additions since the reading are not in it: with N data planes the bound
   * can be passed by at most what they send in one check interval.
   */
  #queuedBatches: number | undefined;
  #queueReadAt = Number.NEGATIVE_INFINITY;
  readonly #redacted: ReadonlySet<string>;
  readonly #logger: Logger | undefined;

  /**
   * Events waiting to be sent, serialized at emit (the JSON text of a RequestEventInput) straight into the UTF-8 bytes
   * of the batch that will carry them (event-batches.ts says why). An event waits up to a batch interval here: as an
   * object tree, and later as a string, it outlived young-generation collections and cost the data plane a large
   * share of its CPU (measured); bytes outside the JS heap cost the collector nothing.
   */
  readonly #batches: EventBatches;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #retryDelayMs = 0;
  #closed = false;
  #lastFailureLogAt = 0;
  #lastQueueFullLogAt = 0;
  /** When the current run of failed sends began (0: the last send worked). */
  #failingSince = 0;
  readonly #stats = {
    accepted: 0,
    delivered: 0,
    dropped: 0,
    batches: 0,
    sendFailures: 0,
    spilled: 0,
    replayed: 0,
    deferredSends: 0,
  };
  readonly #spill: EventSpill | undefined;
  readonly #spillAfterFailingMs: number | undefined;
  /** Events moved out of the buffer on their way to the spill file (counted in `buffered` until written). */
  #spilling = 0;
  /** The send loop is sending the oldest batch now (it stays in #batches until delivered). */
  #inFlight = false;
  #replaying: Promise<void> | undefined;
  #lastSpillDropLogAt = 0;

  constructor(options: BullmqRequestEventSinkOptions) {
    this.#source = options.source ?? '';
    this.#maxBatchWaitMs = options.maxBatchWaitMs ?? requestLogBatchMaxWaitMs;
    this.#maxBatchEvents = options.maxBatchEvents ?? requestLogBatchMaxEvents;
    this.#batches = new EventBatches(this.#source, this.#maxBatchEvents);
    this.#maxBufferedEvents = options.maxBufferedEvents ?? 50_000;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 5_000;
    this.#minRetryDelayMs = options.minRetryDelayMs ?? 250;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    this.#maxQueuedBatches = options.maxQueuedBatches ?? 0;
    this.#queueCheckIntervalMs = options.queueCheckIntervalMs ?? 1_000;
    this.#redacted = redactedHeaderSet(options.redactHeaders ?? []);
    this.#logger = options.logger;
    this.#spill = options.spill === undefined ? undefined : new EventSpill(options.spill);
    this.#spillAfterFailingMs = options.spill === undefined ? undefined : (options.spill.afterFailingMs ?? 30_000);
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
    this.#queueOptions = {
      // BullMQ waits for the first connection before its setup commands (they would fail without an offline queue).
      connection: this.#redis,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      defaultJobOptions: {
        attempts: options.jobAttempts ?? 25,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: 1_000,
      },
    };
    // Events an earlier run spilled are delivered as soon as Redis answers.
    this.#startReplay();
  }

  get stats(): BullmqRequestEventSinkStats {
    return { ...this.#stats, buffered: this.#batches.count + this.#spilling, queuedBatches: this.#queuedBatches };
  }

  bufferedEvents(): number {
    return this.#batches.count + this.#spilling;
  }

  deferredSends(): number {
    return this.#stats.deferredSends;
  }

  queuedBatches(): number | undefined {
    return this.#queuedBatches;
  }

  spilledEvents(): number {
    return this.#stats.spilled;
  }

  replayedEvents(): number {
    return this.#stats.replayed;
  }

  droppedEvents(): number {
    return this.#stats.dropped;
  }

  failedSends(): number {
    return this.#stats.sendFailures;
  }

  emit(event: RequestEvent): boolean {
    try {
      if (this.#closed) {
        this.#stats.dropped += 1;
        return false;
      }
      if (this.#batches.count >= this.#maxBufferedEvents) {
        if (this.#spill === undefined) {
          this.#stats.dropped += 1;
          return false;
        }
        // Full: this event and everything buffered but the batch being sent (the send loop owns the oldest batch
        // until its send ends) go to disk, in the background.
        const overflow = this.#batches.takeTexts(this.#inFlight ? 1 : 0);
        overflow.push(JSON.stringify(this.#redact(event)));
        this.#stats.accepted += 1;
        void this.#spillToDisk(overflow, false);
        return true;
      }
      // A value JSON cannot carry (a cycle, a BigInt in log metadata) throws here: this event is dropped and counted,
      // where a batch holding it would have failed every send.
      this.#batches.append(JSON.stringify(this.#redact(event)));
      this.#stats.accepted += 1;
      if (this.#sending === undefined && this.#retryDelayMs === 0) {
        if (this.#batches.count >= this.#maxBatchEvents) this.#schedule(0);
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
    if (this.#batches.count > 0) await this.#startSending();
  }

  /** Stops accepting events, tries to deliver the buffer for up to `closeTimeoutMs`, then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = Date.now() + this.#closeTimeoutMs;
    // With somewhere to spill, a Redis that is down now is not waited for: the next start delivers the events.
    while (this.#batches.count > 0 && Date.now() < deadline && (this.#spill === undefined || this.#redisReady())) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (this.#sending !== undefined) await this.#sending;
      else await this.#startSending();
      if (this.#batches.count > 0 && this.#retryDelayMs > 0) await sleep(Math.min(100, deadline - Date.now()));
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#sending !== undefined) await this.#sending;
    if (this.#batches.count > 0 && this.#spill !== undefined) {
      const undelivered = this.#batches.count;
      const result = await this.#spillToDisk(this.#batches.takeTexts(), true);
      if (result.written > 0)
        this.#logger?.warn(
          { spilled: result.written, file: this.#spill.path },
          'request events not delivered before shutdown were written to disk; the next start delivers them',
        );
      if (result.written < undelivered)
        this.#logger?.warn({ undelivered: undelivered - result.written }, 'request events lost at shutdown');
    }
    if (this.#batches.count > 0) {
      const undelivered = this.#batches.discard();
      this.#logger?.warn({ undelivered }, 'request events not delivered before shutdown');
      this.#stats.dropped += undelivered;
    }
    await this.#spill?.settled();
    // A delivery from disk in progress stops between batches; what it did not send stays on disk for the next start.
    if (this.#replaying !== undefined) await Promise.race([this.#replaying, sleep(1_000)]);
    if (this.#queue !== undefined) await this.#queue.then(({ queue }) => queue.close()).catch(() => undefined);
    this.#redis.disconnect();
  }

  /** The queue, importing bullmq and creating it on the first call. */
  #openQueue(): Promise<{ queue: RawJsonQueue; RawJson: typeof RawJson }> {
    this.#queue ??= import('./raw-json-queue.js').then(
      (module) => {
        const queue = new module.RawJsonQueue(requestLogsQueueName, this.#queueOptions);
        queue.on('error', () => {
          // Same as for the connection: surfaced by the send that failed.
        });
        return { queue, RawJson: module.RawJson };
      },
      (error: unknown) => {
        // Not kept: the next send tries the import again.
        this.#queue = undefined;
        throw error;
      },
    );
    return this.#queue;
  }

  #redisReady(): boolean {
    return this.#redis.status === 'ready';
  }

  /**
   * Writes events to this process's spill file (fsynced when `sync`); what the size bound refuses is dropped, counted
   * and logged. A spill while running also starts delivery from disk, which waits for Redis.
   */
  async #spillToDisk(events: string[], sync: boolean): Promise<{ written: number }> {
    const spill = this.#spill!;
    this.#spilling += events.length;
    let written = 0;
    try {
      const result = await spill.append(events, { sync });
      written = result.written;
      this.#stats.spilled += result.written;
      if (result.dropped > 0) {
        this.#stats.dropped += result.dropped;
        if (sync || Date.now() - this.#lastSpillDropLogAt > 10_000) {
          this.#lastSpillDropLogAt = Date.now();
          this.#logger?.error(
            { dropped: result.dropped, file: spill.path },
            'request-event spill file is full; dropping request events (raise DATAPLANE_EVENT_SPILL_MAX_BYTES or bring Redis back)',
          );
        }
      }
    } catch (error) {
      this.#stats.dropped += events.length;
      this.#logger?.error({ err: error, dropped: events.length }, 'could not write request events to the spill file');
    } finally {
      this.#spilling -= events.length;
    }
    if (!this.#closed) this.#startReplay();
    return { written };
  }

  #startReplay(): void {
    if (this.#spill === undefined || this.#replaying !== undefined) return;
    this.#replaying = this.#replayLoop(this.#spill)
      .catch((error: unknown) => {
        this.#logger?.error({ err: error }, 'delivering spilled request events failed; they stay on disk');
      })
      .finally(() => {
        this.#replaying = undefined;
      });
  }

  /**
   * Delivers spill files one at a time once Redis answers, batch by batch (a failed batch is retried with backoff),
   * then removes each file. Stops between batches when the sink closes; a file partly sent is sent again in full by
   * the next start, which the worker's idempotent insert (by event id) makes harmless.
   */
  async #replayLoop(spill: EventSpill): Promise<void> {
    let delayMs = this.#minRetryDelayMs;
    const waitForRedis = async () => {
      while (!this.#closed && !this.#redisReady()) await sleepUnref(this.#minRetryDelayMs);
      return !this.#closed;
    };
    while (await waitForRedis()) {
      const claimed = await spill.claim();
      if (claimed === undefined) return;
      const { events, skipped } = await spill.read(claimed);
      if (skipped > 0)
        this.#logger?.warn(
          { skipped, file: claimed.path },
          'skipped unreadable lines in a request-event spill file (a torn write)',
        );
      for (let start = 0; start < events.length;) {
        if (this.#closed) return;
        const batch = events.slice(start, start + this.#maxBatchEvents);
        try {
          await this.#send(this.#payloadOf(batch));
        } catch (error) {
          if (error instanceof QueueFullError) this.#stats.deferredSends += 1;
          else this.#stats.sendFailures += 1;
          await sleepUnref(delayMs);
          delayMs = Math.min(this.#maxRetryDelayMs, delayMs * 2);
          continue;
        }
        delayMs = this.#minRetryDelayMs;
        start += batch.length;
        this.#stats.replayed += batch.length;
        this.#stats.batches += 1;
      }
      await spill.remove(claimed);
      this.#logger?.info({ delivered: events.length, file: claimed.path }, 'delivered spilled request events');
    }
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
    while (this.#batches.count > 0) {
      const batch = this.#batches.first()!;
      // A batch sent before was sealed then: it goes again with the same bytes (that send may still land too; the
      // worker's insert is idempotent by event id).
      const firstSend = !batch.sealed;
      this.#inFlight = true;
      try {
        await this.#send(this.#batches.seal(batch, new Date()));
      } catch (error) {
        this.#inFlight = false;
        const queueFull = error instanceof QueueFullError;
        if (queueFull) this.#stats.deferredSends += 1;
        else this.#stats.sendFailures += 1;
        if (this.#failingSince === 0) this.#failingSince = Date.now();
        else if (
          this.#spill !== undefined &&
          !this.#closed &&
          Date.now() - this.#failingSince >= (this.#spillAfterFailingMs ?? Infinity)
        ) {
          // Redis (or the worker, when the queue is full) has been away long: keep the buffer on disk rather than only
          // in this process's memory.
          void this.#spillToDisk(this.#batches.takeTexts(), false);
        }
        this.#retryDelayMs = Math.min(this.#maxRetryDelayMs, Math.max(this.#minRetryDelayMs, this.#retryDelayMs * 2));
        // One line per 10 s for each reason, so Redis coming back to a full queue is reported at once.
        if (queueFull) {
          if (Date.now() - this.#lastQueueFullLogAt > 10_000) {
            this.#lastQueueFullLogAt = Date.now();
            this.#logger?.warn(
              {
                queued_batches: error.queuedBatches,
                max_queued_batches: error.maxQueuedBatches,
                buffered: this.#batches.count,
              },
              "request-log queue is full (is the API's request-log worker running?); keeping events here until it drains",
            );
          }
        } else if (Date.now() - this.#lastFailureLogAt > 10_000) {
          this.#lastFailureLogAt = Date.now();
          this.#logger?.warn(
            { err: error, buffered: this.#batches.count },
            'request-log queue unavailable; buffering events in memory',
          );
        }
        return;
      }
      // Only now leave the buffer: a batch that failed is retried as the oldest, so order is kept. Its buffer is
      // written again only when no failed send of it could still be pending inside ioredis.
      this.#batches.delivered(batch, firstSend);
      this.#inFlight = false;
      this.#stats.delivered += batch.count;
      this.#stats.batches += 1;
      this.#retryDelayMs = 0;
      this.#failingSince = 0;
      if (this.#batches.count < this.#maxBatchEvents && !this.#closed) return;
    }
  }

  #scheduleNext(): void {
    if (this.#batches.count === 0 || this.#closed) return;
    if (this.#retryDelayMs > 0) this.#schedule(this.#retryDelayMs);
    else if (this.#batches.count >= this.#maxBatchEvents) this.#schedule(0);
    else this.#schedule(this.#maxBatchWaitMs);
  }

  /** Spilled events (their JSON texts) as one RequestLogBatch payload. */
  #payloadOf(texts: readonly string[]): Buffer {
    const batches = new EventBatches(this.#source, texts.length, 64 * 1024);
    for (const text of texts) batches.append(text);
    return batches.seal(batches.first()!, new Date());
  }

  /** Sends one RequestLogBatch payload (its JSON as UTF-8) as one job. */
  async #send(payload: Buffer): Promise<void> {
    // Fail fast while disconnected rather than leave an add() pending that would land later as a duplicate.
    if (this.#redis.status !== 'ready') throw new Error(`Redis is ${this.#redis.status}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#openQueue().then(async ({ queue, RawJson }) => {
          await this.#checkQueueRoom(queue);
          await queue.add(requestLogBatchJobName, new RawJson(payload));
          if (this.#queuedBatches !== undefined) this.#queuedBatches += 1;
        }),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('request-log send timed out')), this.#sendTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Throws QueueFullError when the queue holds `maxQueuedBatches` batches. The backlog is read again (one Redis round
   * trip per check interval, not per batch) when the last reading is old, and at every attempt while it is at the
   * bound, so sending resumes at the first retry after the worker has drained it.
   */
  async #checkQueueRoom(queue: RawJsonQueue): Promise<void> {
    const bound = this.#maxQueuedBatches;
    if (bound === 0) return;
    if (
      this.#queuedBatches === undefined ||
      this.#queuedBatches >= bound ||
      performance.now() - this.#queueReadAt >= this.#queueCheckIntervalMs
    ) {
      // Batches that wait for a worker, whatever the reason: new (a paused queue keeps them in `wait` too), or delayed
      // for a retry after a failed insert (Postgres down). Active jobs are bounded by the workers' concurrency; failed
      // ones by removeOnFail.
      this.#queuedBatches = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
      this.#queueReadAt = performance.now();
    }
    if (this.#queuedBatches >= bound) throw new QueueFullError(this.#queuedBatches, bound);
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

/** A wait that does not keep a stopping process alive (delivery from disk is best effort until close). */
function sleepUnref(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)).unref());
}
