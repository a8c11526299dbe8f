import type { Logger } from 'pino';
import type { RequestEvent, RequestEventSink } from './request-event.js';

/**
 * Writes each request event as one structured log line (pino is asynchronous, so this never waits on I/O). The
 * BullMQ sink of the request-log pipeline implements the same interface.
 */
export class LoggingRequestEventSink implements RequestEventSink {
  #closed = false;

  constructor(private readonly logger: Logger) {}

  emit(event: RequestEvent): boolean {
    if (this.#closed) return false;
    try {
      this.logger.info({ request: event }, 'request');
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Keeps events in memory (bounded): for tests and for embedding code that reads them directly. */
export class MemoryRequestEventSink implements RequestEventSink {
  readonly events: RequestEvent[] = [];
  #waiters: { predicate: (event: RequestEvent) => boolean; resolve: (event: RequestEvent) => void }[] = [];

  constructor(private readonly limit = 10_000) {}

  emit(event: RequestEvent): boolean {
    if (this.events.length >= this.limit) return false;
    this.events.push(event);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(event)) return true;
      waiter.resolve(event);
      return false;
    });
    return true;
  }

  /** Resolves with the first event (already emitted or future) that matches. */
  waitFor(predicate: (event: RequestEvent) => boolean): Promise<RequestEvent> {
    const found = this.events.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve }));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
