import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { decodeRequestLogCursor, encodeRequestLogCursor, parseRequestLogFilters } from './request-log-filters';
import { RequestLogStreamSession, type SseWriter } from './request-log-stream';
import { RequestLogTailService } from './request-log-tail.service';
import type {
  ListRequestLogsQuery,
  RequestLogListResponse,
  RequestLogResponse,
  StreamRequestLogsQuery,
} from './request-logs.dto';
import { presentRequestLog, presentRequestLogSummary } from './request-logs.presenter';
import { RequestLogsRepository } from './request-logs.repository';

/** SSE comment lines keep proxies and browsers from closing an idle tail. */
export const TAIL_HEARTBEAT_MS = 15_000;

/** The open connection a live tail writes to (the controller adapts Express's response). */
export interface SseConnection extends SseWriter {
  /** Called once when the client goes away. */
  onClose(listener: () => void): void;
  /** Ends the response (server shutdown). */
  end(): void;
}

@Injectable()
export class RequestLogsService implements OnModuleDestroy {
  /** Tests shorten it. */
  heartbeatIntervalMs = TAIL_HEARTBEAT_MS;
  /** Open live tails: ended on shutdown, or an SSE connection would keep the HTTP server from closing. */
  readonly #open = new Set<SseConnection>();

  constructor(
    private readonly requestLogs: RequestLogsRepository,
    private readonly tail: RequestLogTailService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async listRequestLogs(query: ListRequestLogsQuery): Promise<RequestLogListResponse> {
    const filters = parseRequestLogFilters(query);
    const before = query.before === undefined ? undefined : decodeRequestLogCursor(query.before);
    const rows = await this.requestLogs.listRequestLogs(filters, before, query.limit);
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    let nextPageUri: string | null = null;
    if (rows.length > query.limit && last) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && name !== 'before' && name !== 'limit') params.set(name, String(value));
      }
      params.set('limit', String(query.limit));
      params.set('before', encodeRequestLogCursor({ timestamp: last.timestamp, id: last.id }));
      nextPageUri = `/api/request-logs?${params.toString()}`;
    }
    return { request_logs: items.map(presentRequestLogSummary), next_page_uri: nextPageUri };
  }

  async getRequestLog(id: string): Promise<RequestLogResponse> {
    const row = await this.requestLogs.findRequestLogById(id);
    if (!row) throw new AppError(ErrorCode.REQUEST_LOG_NOT_FOUND, `No request log ${id}`);
    return presentRequestLog(row);
  }

  /**
   * Runs a live tail on `connection` until the client disconnects: replays from `lastEventId` when given, then
   * streams new rows as the worker stores them, with a heartbeat comment every 15 s.
   */
  async streamRequestLogs(
    query: StreamRequestLogsQuery,
    lastEventIdHeader: string | undefined,
    connection: SseConnection,
  ): Promise<void> {
    const lastEventId = this.parseLastEventId(lastEventIdHeader ?? query.last_event_id);
    const session = new RequestLogStreamSession(
      this.requestLogs,
      parseRequestLogFilters(query),
      connection,
      this.logger,
    );
    const state: { closed: boolean; removeListener?: () => void; heartbeat?: NodeJS.Timeout } = { closed: false };
    this.#open.add(connection);
    connection.onClose(() => {
      state.closed = true;
      this.#open.delete(connection);
      clearInterval(state.heartbeat);
      state.removeListener?.();
      session.close();
    });
    // The start position is queued before any message can be: every message is then judged against it. A batch
    // stored before the subscription is active shows up as a seq gap in the next message (or at the next heartbeat)
    // and is read from the database.
    const started = session.start(lastEventId);
    const remove = await this.tail.addListener((message) => session.onMessage(message));
    if (state.closed) {
      remove();
      return;
    }
    state.removeListener = remove;
    state.heartbeat = setInterval(() => {
      connection.write(': heartbeat\n\n');
      void session.poll();
    }, this.heartbeatIntervalMs);
    await started;
    // After the start position is known: a client that saw this comment sees every row stored afterwards.
    connection.write(': connected\nretry: 2000\n\n');
  }

  onModuleDestroy(): void {
    for (const connection of this.#open) connection.end();
    this.#open.clear();
  }

  private parseLastEventId(text: string | undefined): bigint | undefined {
    if (text === undefined || text.trim() === '') return undefined;
    if (!/^\d{1,18}$/.test(text.trim())) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 'The request is invalid', [
        { path: 'Last-Event-ID', message: 'must be the id of an event this stream sent' },
      ]);
    }
    return BigInt(text.trim());
  }
}
