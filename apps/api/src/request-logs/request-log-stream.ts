import type { Logger } from 'pino';
import { matchesRequestLogFilters, type RequestLogFilters } from './request-log-filters';
import type { RequestLogSummary, RequestLogTailMessage } from './request-logs.dto';
import { presentRequestLogSummary } from './request-logs.presenter';
import type { RequestLogsRepository } from './request-logs.repository';

/** Rows replayed per query when catching up. */
const REPLAY_PAGE = 1_000;
/** A reconnect further behind than this skips ahead (the list API serves older history). */
export const MAX_REPLAY_ROWS = 10_000;

export interface SseWriter {
  write(chunk: string): void;
}

/**
 * One live tail (Server-Sent Events). `cursor` is the seq up to which every row has been considered (sent when it
 * matched the filters, skipped otherwise). The worker publishes batches covering `after_seq < seq ≤ last_seq`; a
 * batch that continues exactly from the cursor is filtered in memory, anything else (a lost message, messages out of
 * order, a reconnect with Last-Event-ID) is read from the database with `seq > cursor`. Inserts serialize on a
 * database lock, so rows never appear below a seq already visible: no gaps, no duplicates.
 */
export class RequestLogStreamSession {
  #cursor = 0n;
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly repository: RequestLogsRepository,
    private readonly filters: RequestLogFilters,
    private readonly writer: SseWriter,
    private readonly logger: Logger,
  ) {}

  /** Starts after `lastEventId` (replaying what was missed) or, without one, at the newest row. */
  start(lastEventId: bigint | undefined): Promise<void> {
    return this.enqueue(async () => {
      if (lastEventId === undefined) {
        this.#cursor = await this.repository.findLatestSeq();
        return;
      }
      this.#cursor = lastEventId;
      await this.catchUp();
    });
  }

  onMessage(message: RequestLogTailMessage): void {
    void this.enqueue(async () => {
      const lastSeq = BigInt(message.last_seq);
      if (lastSeq <= this.#cursor) return;
      if (BigInt(message.after_seq) > this.#cursor) {
        await this.catchUp();
        return;
      }
      for (const log of message.request_logs) {
        if (BigInt(log.seq) > this.#cursor && matchesRequestLogFilters(log, this.filters)) this.send(log);
      }
      this.#cursor = lastSeq;
    });
  }

  /** Called with each heartbeat: finds rows whose tail message never arrived (Redis blips). */
  poll(): Promise<void> {
    return this.enqueue(() => this.catchUp());
  }

  close(): void {
    this.#closed = true;
  }

  private async catchUp(): Promise<void> {
    const latest = await this.repository.findLatestSeq();
    if (latest <= this.#cursor) return;
    if (latest - this.#cursor > BigInt(MAX_REPLAY_ROWS) * 10n) this.#cursor = latest - BigInt(MAX_REPLAY_ROWS) * 10n;
    let replayed = 0;
    while (!this.#closed) {
      const rows = await this.repository.listRequestLogsAfterSeq(this.filters, this.#cursor, latest, REPLAY_PAGE);
      for (const row of rows) this.send(presentRequestLogSummary(row));
      replayed += rows.length;
      if (rows.length < REPLAY_PAGE || replayed >= MAX_REPLAY_ROWS) break;
      this.#cursor = rows.at(-1)!.seq;
    }
    this.#cursor = latest;
  }

  private send(log: RequestLogSummary): void {
    if (this.#closed) return;
    this.writer.write(`id: ${log.seq}\nevent: request_log\ndata: ${JSON.stringify(log)}\n\n`);
  }

  /** Runs steps one at a time, in order; a failing step is logged and the tail goes on. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    this.#work = this.#work.then(async () => {
      if (this.#closed) return;
      try {
        await step();
      } catch (error) {
        this.logger.warn({ err: error }, 'request-log tail step failed');
      }
    });
    return this.#work;
  }
}
