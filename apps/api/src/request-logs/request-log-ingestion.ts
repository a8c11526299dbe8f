import {
  callerIdentifiers,
  redactedHeaderSet,
  redactLogMetadata,
  requestEventSchema,
  requestLogBatchSchema,
  requestLogBodyMaxLength,
  requestLogsTailChannel,
  type RecordedRequest,
  type ValidRequestEvent,
  withoutRedactedHeaders,
} from '@gatehouse/contracts';
import { fingerprintRedactedValue } from '@gatehouse/runtime';
import type { Logger } from 'pino';
import type { RequestLogTailMessage } from './request-logs.dto';
import { jsonWithoutNul } from './copy-text';
import { presentRequestLogSummary } from './request-logs.presenter';
import {
  type InsertedBatch,
  type NewRequestLogRow,
  type PreparedRequestLogRow,
  REPLAY_FACTS,
} from './request-logs.repository';

/** What ingestion needs from storage (RequestLogsRepository). */
export interface RequestLogWriter {
  /** The row as it waits for its group's insert, called as each event is validated; `keepRow`: for the tail message. */
  prepareRow(row: NewRequestLogRow, keepRow: boolean): PreparedRequestLogRow;
  insertRequestLogs(rows: PreparedRequestLogRow[]): Promise<InsertedBatch>;
}

export interface BatchResult {
  received: number;
  inserted: number;
  duplicates: number;
  invalid: number;
}

function truncate(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return text.length > requestLogBodyMaxLength ? text.slice(0, requestLogBodyMaxLength) : text;
}

/**
 * Turns a validated event into a row, removing secret headers again (the data plane already did: defense in depth)
 * and capping opt-in bodies.
 */
export function toRequestLogRow(event: ValidRequestEvent, redacted: ReadonlySet<string>): NewRequestLogRow {
  return {
    id: event.id,
    timestamp: event.timestamp,
    endpoint_id: event.endpoint_id,
    endpoint_url: event.endpoint_url,
    policy_version: event.policy_version,
    method: event.method.toUpperCase(),
    host: event.host,
    path: event.path,
    query: event.query,
    status: event.status,
    duration_ms: event.duration_ms,
    upstream_duration_ms: event.upstream_duration_ms,
    bytes_in: event.bytes_in,
    bytes_out: event.bytes_out,
    client_ip: event.client_ip,
    client_ip_categories: event.client_ip_categories,
    user_agent: event.user_agent,
    forwarded_to: event.forwarded_to,
    decision: event.decision,
    decision_action: event.decision?.action ?? null,
    rules_matched: event.rules_matched,
    error_code: event.error_code,
    logs: event.logs.length === 0 ? event.logs : redactLogMetadata(event.logs, redacted),
    mcp: event.mcp,
    mcp_tool: event.mcp?.tool ?? null,
    caller: event.caller,
    caller_ids: callerIdentifiers(event.caller),
    trace_id: event.trace_id,
    ai_gateway: event.ai_gateway,
    trace: event.trace,
    runtime_errors: event.runtime_errors,
    request_headers: withoutRedactedHeaders(event.request_headers, redacted),
    response_headers: withoutRedactedHeaders(event.response_headers, redacted),
    request_body: truncate(event.request_body),
    response_body: truncate(event.response_body),
    shadow: event.shadow,
    shadow_differs: event.shadow?.differs ?? null,
    // Serialized here, once: the row waits for its group's insert (hundreds of milliseconds, past a few scavenges),
    // and one flat string survives them far more cheaply than the object graph of its headers (issue 18).
    [REPLAY_FACTS]:
      event.replay === undefined || event.replay === null
        ? null
        : jsonWithoutNul(JSON.stringify(redactReplayFacts(event.replay, redacted))),
  };
}

/**
 * The configured extra redacted headers become fingerprints in replay facts too (the data plane only knows the
 * always-redacted ones); an always-redacted value the data plane sent in clear is fingerprinted here as a second line.
 */
function redactReplayFacts(facts: RecordedRequest, redacted: ReadonlySet<string>): RecordedRequest {
  return {
    ...facts,
    headers: facts.headers.map(([name, value]) =>
      redacted.has(name.toLowerCase()) ? [name, fingerprintRedactedValue(value)] : [name, value],
    ),
  };
}

/** Where the worker publishes tail messages: the MessageBus (an ioredis client fits too, without the count). */
export interface TailPublisher {
  publish(channel: string, message: string): Promise<unknown>;
  /** Optional: how many processes listen on a channel (PUBSUB NUMSUB); without it the worker always publishes. */
  subscriberCount?: (channel: string) => Promise<number>;
}

const SUBSCRIBER_CHECK_INTERVAL_MS = 1_000;

/**
 * Rows of concurrently processed jobs merged into one insert (at most this many). A group's fixed cost (transaction,
 * advisory lock, the rollup upserts, whose size depends on the buckets and keys touched rather than on the rows) is
 * paid once per group, so larger groups are cheaper per row.
 */
const MAX_GROUP_ROWS = 10_000;

/**
 * Groups in flight at once. Two: while one holds the insert lock in Postgres, the next is validated, encoded and
 * copied into its connection's staging table (request-logs.repository.ts), so the worker's CPU and Postgres's overlap
 * instead of taking turns. More would only queue on the lock.
 */
const MAX_GROUPS_IN_FLIGHT = 2;

/**
 * A second group starts before the first one finished only with at least this many rows; a smaller one waits for the
 * first and grows meanwhile (starting every job's rows as its own group would pay the fixed cost per job).
 */
const MIN_OVERLAPPING_GROUP_ROWS = 2_000;

interface ValidatedBatch {
  rows: Map<string, PreparedRequestLogRow>;
  received: number;
  invalid: number;
}

interface PendingRows {
  rows: Map<string, PreparedRequestLogRow>;
  resolve: (insertedIds: ReadonlySet<string>) => void;
  reject: (error: unknown) => void;
}

/**
 * Validates, stores and publishes one batch. Idempotent: a batch delivered twice inserts nothing the second time.
 * Invalid events are dropped (retrying cannot fix them) and counted; a database error throws so BullMQ retries the job.
 */
export class RequestLogBatchProcessor {
  readonly #redacted: ReadonlySet<string>;
  #pending: PendingRows[] = [];
  #pendingRows = 0;
  #groupsInFlight = 0;
  /** The tail publish of the group stored last: the next one waits for it. */
  #published: Promise<void> = Promise.resolve();
  #hasSubscribers = true;
  #subscribersCheckedAt = 0;
  readonly totals: BatchResult = { received: 0, inserted: 0, duplicates: 0, invalid: 0 };

  constructor(
    private readonly writer: RequestLogWriter,
    private readonly publisher: TailPublisher,
    private readonly logger: Logger,
    redactHeaders: readonly string[],
    /** The installation's tail channel (RedisNames); the contract's default when there is no prefix. */
    private readonly tailChannel: string = requestLogsTailChannel,
  ) {
    this.#redacted = redactedHeaderSet(redactHeaders);
  }

  processBatch(data: unknown): Promise<BatchResult> {
    // Whole rows are kept for the tail message only while somebody tails (checked at most once a second); a tail that
    // starts after the check finds the gap in seq in the next message, or at its heartbeat, and reads those rows from
    // the database. `data` is captured by this callback alone, not by a suspended async function (which keeps its
    // arguments), so it becomes garbage once validated, not once stored.
    return this.hasTailSubscribers().then((keepRows) => this.store(this.validate(data, keepRows)));
  }

  private async store(validated: ValidatedBatch | null): Promise<BatchResult> {
    if (validated === null) {
      this.totals.invalid += 1;
      return { received: 0, inserted: 0, duplicates: 0, invalid: 1 };
    }
    const { rows, received, invalid } = validated;
    const insertedIds = rows.size === 0 ? new Set<string>() : await this.storeRows(rows);
    let inserted = 0;
    for (const id of rows.keys()) if (insertedIds.has(id)) inserted += 1;
    const result: BatchResult = { received, inserted, duplicates: rows.size - inserted, invalid };
    this.totals.received += result.received;
    this.totals.inserted += result.inserted;
    this.totals.duplicates += result.duplicates;
    this.totals.invalid += result.invalid;
    return result;
  }

  /**
   * The batch's valid events as rows (null: the batch itself is malformed). Apart from processBatch so that nothing
   * of the batch as received (nor of zod's output) stays reachable while the rows wait for their group's insert.
   */
  private validate(data: unknown, keepRows: boolean): ValidatedBatch | null {
    const batch = requestLogBatchSchema.safeParse(data);
    if (!batch.success) {
      this.logger.warn({ issues: batch.error.issues.slice(0, 5) }, 'request-log batch is malformed; dropped');
      return null;
    }
    const rows = new Map<string, PreparedRequestLogRow>();
    let invalid = 0;
    for (const raw of batch.data.events) {
      const parsed = requestEventSchema.safeParse(raw);
      if (!parsed.success) {
        invalid += 1;
        if (invalid <= 3) {
          this.logger.warn(
            { source: batch.data.source, issues: parsed.error.issues.slice(0, 5) },
            'invalid request event dropped',
          );
        }
        continue;
      }
      const row = toRequestLogRow(parsed.data, this.#redacted);
      rows.set(row.id, this.writer.prepareRow(row, keepRows));
    }
    return { rows, received: batch.data.events.length, invalid };
  }

  /**
   * Group commit: jobs processed concurrently share one insert transaction (inserts serialize on a database lock
   * anyway, so the fixed cost of a transaction is paid once per group instead of once per job), and up to
   * MAX_GROUPS_IN_FLIGHT groups are stored at once. Resolves with the ids that were new once they are stored and
   * published.
   */
  private storeRows(rows: Map<string, PreparedRequestLogRow>): Promise<ReadonlySet<string>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ rows, resolve, reject });
      this.#pendingRows += rows.size;
      this.startGroups();
    });
  }

  private startGroups(): void {
    while (this.#pending.length > 0 && this.#groupsInFlight < MAX_GROUPS_IN_FLIGHT) {
      if (this.#groupsInFlight > 0 && this.#pendingRows < MIN_OVERLAPPING_GROUP_ROWS) return;
      const group: PendingRows[] = [];
      let size = 0;
      while (this.#pending.length > 0 && (group.length === 0 || size + this.#pending[0]!.rows.size <= MAX_GROUP_ROWS)) {
        const next = this.#pending.shift()!;
        group.push(next);
        size += next.rows.size;
      }
      this.#pendingRows -= size;
      this.#groupsInFlight += 1;
      void this.storeGroup(group).finally(() => {
        this.#groupsInFlight -= 1;
        this.startGroups();
      });
    }
  }

  private async storeGroup(group: PendingRows[]): Promise<void> {
    const merged = new Map<string, PreparedRequestLogRow>();
    for (const pending of group) for (const [id, row] of pending.rows) merged.set(id, row);
    let stored: InsertedBatch;
    try {
      stored = await this.writer.insertRequestLogs([...merged.values()]);
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    // Tail messages go out in the order the inserts finished, which is their commit (and seq) order: the lock
    // serializes the commits. A tail would cope with another order (it reads a gap from the database and skips rows
    // below its cursor), at the price of a query.
    const published = this.#published.then(() =>
      stored.inserted.length > 0 ? this.publishTail(stored, merged) : undefined,
    );
    this.#published = published.catch(() => undefined);
    try {
      await published;
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    const insertedIds = new Set(stored.inserted.map((row) => row.id));
    for (const pending of group) pending.resolve(insertedIds);
  }

  /**
   * Publishes the new rows for live tails. A failure is logged, not thrown: the rows are stored, and tails notice the
   * gap in seq and read it from the database.
   */
  private async publishTail(stored: InsertedBatch, rows: Map<string, PreparedRequestLogRow>): Promise<void> {
    // Nobody tailing (checked at most once a second): skip building the message. A tail that starts in between
    // sees the seq gap in the next message, or at its first heartbeat, and reads the rows from the database.
    if (!(await this.hasTailSubscribers())) return;
    const summaries: RequestLogTailMessage['request_logs'] = [];
    for (const { id, seq } of stored.inserted) {
      const row = rows.get(id)?.row;
      // Validated while nobody tailed, so kept as COPY text only: the same gap, read from the database.
      if (row === null || row === undefined) return;
      summaries.push(presentRequestLogSummary({ ...row, seq, timestamp: new Date(row.timestamp) }));
    }
    const message: RequestLogTailMessage = {
      after_seq: Number(stored.afterSeq),
      last_seq: Number(stored.lastSeq),
      request_logs: summaries,
    };
    try {
      await this.publisher.publish(this.tailChannel, JSON.stringify(message));
    } catch (error) {
      this.logger.warn({ err: error }, 'request-log tail publish failed; tails will catch up from the database');
    }
  }

  private async hasTailSubscribers(): Promise<boolean> {
    // Called on the publisher, not as a detached function: the buses read their own fields (a detached call threw,
    // the catch below answered "yes", and every batch built and published a tail message nobody read).
    if (!this.publisher.subscriberCount) return true;
    if (Date.now() - this.#subscribersCheckedAt > SUBSCRIBER_CHECK_INTERVAL_MS) {
      this.#subscribersCheckedAt = Date.now();
      try {
        this.#hasSubscribers = (await this.publisher.subscriberCount(this.tailChannel)) > 0;
      } catch {
        this.#hasSubscribers = true;
      }
    }
    return this.#hasSubscribers;
  }
}
