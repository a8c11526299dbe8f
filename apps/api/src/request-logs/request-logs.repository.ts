import { Inject, Injectable, Optional } from '@nestjs/common';
import { replayFactsPerEndpoint } from '@gatehouse/contracts';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { POSTGRES_POOL, PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import type { RequestLogCursor, RequestLogFilters } from './request-log-filters';
import { CopyTextEncoder, jsonWithoutNul } from './copy-text';
import { rollUp, type RollupSource, TOP_KEYS_PER_BUCKET } from './traffic-rollup';

/** A request_logs row as the repository returns it (columns of the list, plus the detail columns when asked for). */
export interface RequestLogRow {
  id: string;
  seq: bigint;
  timestamp: Date;
  endpoint_id: string | null;
  endpoint_url: string | null;
  policy_version: number | null;
  method: string;
  host: string;
  path: string;
  query: string;
  status: number;
  duration_ms: number;
  upstream_duration_ms: number | null;
  bytes_in: bigint | number;
  bytes_out: bigint | number;
  client_ip: string;
  client_ip_categories: string[];
  user_agent: string | null;
  forwarded_to: string | null;
  decision: unknown;
  rules_matched: unknown;
  error_code: string | null;
  logs: unknown;
  mcp: unknown;
  caller: unknown;
  trace_id: string | null;
  ai_gateway: unknown;
  shadow: unknown;
}

export interface RequestLogDetailRow extends RequestLogRow {
  trace: unknown;
  runtime_errors: unknown;
  request_headers: unknown;
  response_headers: unknown;
  request_body: string | null;
  response_body: string | null;
}

/**
 * Where a row keeps its replay facts: a symbol key, which JSON.stringify skips, so the request_logs insert's JSON
 * parameter leaves them out. As an ordinary key they went into that parameter and Postgres parsed them as jsonb for
 * nothing (request_logs has no such column): every recorded request carries them, often as many bytes as the row.
 */
export const REPLAY_FACTS: unique symbol = Symbol('replay facts');

/** One row to insert, keyed by column name (nulls may be omitted). */
export type NewRequestLogRow = Omit<RequestLogDetailRow, 'seq' | 'timestamp' | 'bytes_in' | 'bytes_out'> & {
  timestamp: string;
  bytes_in: number;
  bytes_out: number;
  decision_action: string | null;
  mcp_tool: string | null;
  caller_ids: string[];
  /**
   * RecordedRequest facts for replay as JSON text (not a request_logs column: stored in request_replay_facts).
   * Text, not the object: see toRequestLogRow.
   */
  [REPLAY_FACTS]?: string | null;
  shadow_differs: boolean | null;
};

/**
 * A validated row as it waits for its group's insert (RequestLogsRepository.prepareRow): the few fields ingestion still
 * reads (the id, the rollups' fields), and the rest already in the form the insert sends. A row waits hundreds of
 * milliseconds (group commit), past scavenges that copy and promote whatever it keeps reachable; as its COPY text in
 * a Buffer, outside the JavaScript heap, it keeps a few hundred bytes there instead of its whole object graph.
 */
export interface PreparedRequestLogRow extends RollupSource {
  id: string;
  /** The whole row: on PGlite (its insert is one JSON parameter), and when the tail is listened to (its message). */
  row: NewRequestLogRow | null;
  /** Postgres: its line of COPY text for the staging table, its replay facts included (null on PGlite). */
  copyLine: Buffer | null;
  /** Whether the row carries replay facts (and has an endpoint to keep them for). */
  hasReplayFacts: boolean;
}

function rollupFieldsOf(row: NewRequestLogRow): RollupSource {
  return {
    timestamp: row.timestamp,
    endpoint_id: row.endpoint_id,
    status: row.status,
    duration_ms: row.duration_ms,
    client_ip: row.client_ip,
    decision: row.decision,
    decision_action: row.decision_action,
    mcp_tool: row.mcp_tool,
  };
}

export interface InsertedBatch {
  /** max(seq) before this insert: the batch covers exactly the rows with afterSeq < seq ≤ lastSeq. */
  afterSeq: bigint;
  lastSeq: bigint;
  /** The rows that were new, with their seq, in seq order (duplicates of earlier deliveries are left out). */
  inserted: { id: string; seq: bigint }[];
}

const SUMMARY_COLUMNS = Prisma.raw(
  [
    'id',
    'seq',
    'timestamp',
    'endpoint_id',
    'endpoint_url',
    'policy_version',
    'method',
    'host',
    'path',
    'query',
    'status',
    'duration_ms',
    'upstream_duration_ms',
    'bytes_in',
    'bytes_out',
    'client_ip',
    'client_ip_categories',
    'user_agent',
    'forwarded_to',
    'decision',
    'rules_matched',
    'error_code',
    'logs',
    'mcp',
    'caller',
    'trace_id',
    'ai_gateway',
    'shadow',
  ]
    .map((column) => `"${column}"`)
    .join(', '),
);

/**
 * Column name → SQL type: the record type of jsonb_to_recordset (PGlite: one JSON parameter carries the whole batch) and
 * of the staging table COPY fills (Postgres).
 */
const INSERT_COLUMNS: [string, string][] = [
  ['id', 'text'],
  ['timestamp', 'timestamptz'],
  ['endpoint_id', 'text'],
  ['endpoint_url', 'text'],
  ['policy_version', 'integer'],
  ['method', 'text'],
  ['host', 'text'],
  ['path', 'text'],
  ['query', 'text'],
  ['status', 'integer'],
  ['duration_ms', 'double precision'],
  ['upstream_duration_ms', 'double precision'],
  ['bytes_in', 'bigint'],
  ['bytes_out', 'bigint'],
  ['client_ip', 'text'],
  ['client_ip_categories', 'text[]'],
  ['user_agent', 'text'],
  ['forwarded_to', 'text'],
  ['decision', 'jsonb'],
  ['decision_action', 'text'],
  ['rules_matched', 'jsonb'],
  ['error_code', 'text'],
  ['logs', 'jsonb'],
  ['mcp', 'jsonb'],
  ['mcp_tool', 'text'],
  ['caller', 'jsonb'],
  ['caller_ids', 'text[]'],
  ['trace_id', 'text'],
  ['ai_gateway', 'jsonb'],
  ['trace', 'jsonb'],
  ['runtime_errors', 'jsonb'],
  ['request_headers', 'jsonb'],
  ['response_headers', 'jsonb'],
  ['request_body', 'text'],
  ['response_body', 'text'],
  ['shadow', 'jsonb'],
  ['shadow_differs', 'boolean'],
];
const INSERT_COLUMN_LIST = INSERT_COLUMNS.map(([name]) => `"${name}"`).join(', ');
const INSERT_RECORD_TYPE = INSERT_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(', ');

/**
 * A JSON parameter of the batch insert (rows on PGlite, rollups, rollup keys, replay facts). Their strings come from
 * clients (an MCP tool name, a header), and a NUL among them, which jsonb refuses, fails the statement: it becomes
 * U+FFFD, as in the COPY text (copy-text.ts).
 */
function jsonParameter(value: unknown): string {
  return jsonWithoutNul(JSON.stringify(value));
}

/** Every writer serializes on this advisory lock, so seq order is commit order (the tail's no-gap guarantee). */
const INSERT_LOCK_KEY = 0x67_68_72_6c; // "ghrl"

/**
 * One statement with positional parameters ($1, $2, …) inside the insert's transaction: a node-postgres client on
 * Postgres, a Prisma transaction on PGlite. The batch insert's SQL is written once for both.
 */
type SqlRunner = <T>(sql: string, parameters: unknown[]) => Promise<T[]>;

type Transaction = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

function prismaRunner(tx: Transaction): SqlRunner {
  return <T>(sql: string, parameters: unknown[]) => tx.$queryRawUnsafe<T[]>(sql, ...parameters);
}

function pgRunner(client: pg.PoolClient): SqlRunner {
  return async <T>(sql: string, parameters: unknown[]) => (await client.query(sql, parameters)).rows as T[];
}

/**
 * The batch insert on PGlite (insertRequestLogs): lock, insert from one JSON parameter, rollups, replay facts.
 * `json` is the rows as one JSON array (JSON.stringify(rows)).
 */
async function insertBatch(sql: SqlRunner, prepared: PreparedRequestLogRow[], json: string): Promise<InsertedBatch> {
  const afterSeq = await lockAndReadLatestSeq(sql);
  if (prepared.length === 0) return { afterSeq, lastSeq: afterSeq, inserted: [] };
  const [result] = await sql<InsertResult>(
    `WITH inserted AS (
      INSERT INTO request_logs (${INSERT_COLUMN_LIST})
      SELECT ${INSERT_COLUMN_LIST} FROM jsonb_to_recordset($1::jsonb) AS x(${INSERT_RECORD_TYPE})
      ON CONFLICT (id) DO NOTHING
      RETURNING id, seq)
    ${AGGREGATE_INSERTED}`,
    [json],
  );
  const inserted = insertedOf(result);
  if (inserted.length > 0) await upsertRollups(sql, prepared, inserted);
  if (inserted.length > 0) {
    const facts = replayFactsOf(prepared.map(wholeRowOf), inserted);
    if (facts.length > 0) {
      await storeReplayFacts(
        sql,
        `SELECT request_log_id, endpoint_id, seq, facts::json FROM jsonb_to_recordset($1::jsonb)
          AS x(request_log_id text, endpoint_id text, seq bigint, facts text)`,
        [jsonParameter(facts)],
      );
    }
  }
  return { afterSeq, lastSeq: inserted.at(-1)?.seq ?? afterSeq, inserted };
}

/** The new ids and their seqs as two arrays in one row (see insertRequestLogs). */
type InsertResult = { ids: string[] | null; seqs: string[] | null };
const AGGREGATE_INSERTED =
  'SELECT array_agg(id ORDER BY seq) AS ids, array_agg(seq::text ORDER BY seq) AS seqs FROM inserted';

function insertedOf(result: InsertResult | undefined): { id: string; seq: bigint }[] {
  const ids = result?.ids ?? [];
  const seqs = result?.seqs ?? [];
  return ids.map((id, index) => ({ id, seq: BigInt(seqs[index]!) }));
}

/** Takes the insert lock (held to the end of the transaction) and reads max(seq) under it. */
async function lockAndReadLatestSeq(sql: SqlRunner): Promise<bigint> {
  await sql(`SELECT 1 AS locked FROM pg_advisory_xact_lock(${INSERT_LOCK_KEY}::bigint)`, []);
  // Text, not bigint: node-postgres and Prisma return bigint columns differently.
  const [latest] = await sql<{ max: string }>('SELECT coalesce(max(seq), 0)::text AS max FROM request_logs', []);
  return BigInt(latest?.max ?? 0);
}

/**
 * The temporary table a batch is copied into before it is inserted, per connection (ON COMMIT DELETE ROWS: empty
 * again after every transaction). Created if missing in every transaction rather than remembered per client, so a
 * pooler that hands each transaction another server connection cannot leave one without it; when it exists this
 * is a catalog lookup per group. Typed from the column list, not `LIKE request_logs`, so creating it reads nothing
 * of request_logs. `client_min_messages` (for this transaction only) keeps Postgres from sending a "relation already
 * exists, skipping" notice on every group.
 *
 * A row's replay facts ride in its own line (`replay_facts`), where they had a staging table and a COPY of their own:
 * one stream per group instead of two (statement log of `npm run bench:logs`, per event: the facts' COPY took
 * 20-28 µs). The table's name is new with that layout: a pooler can hand a server connection that still holds the
 * old `request_logs_staging` to a newer worker.
 *
 * `jit = off`, for this transaction only: the planner cannot know the staging tables' few thousand rows (temporary
 * tables have no statistics), so its cost estimates for the batch's statements passed `jit_above_cost`, and Postgres
 * compiled each of them with LLVM before running it: 225–275 ms of compilation for a statement that then ran in ~30
 * ms, on every group (auto_explain, issue 18). Nothing here runs long enough to earn that back.
 */
const STAGING_TABLES = `
  SET LOCAL client_min_messages = warning;
  SET LOCAL jit = off;
  CREATE TEMPORARY TABLE IF NOT EXISTS request_log_batch_staging (${INSERT_RECORD_TYPE}, replay_facts json)
    ON COMMIT DELETE ROWS`;
const REQUEST_LOG_COPY = new CopyTextEncoder([...INSERT_COLUMNS, ['replay_facts', 'json text', REPLAY_FACTS]]);
async function copyInto(client: pg.PoolClient, table: string, chunks: Iterable<Buffer>): Promise<void> {
  await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
}

/** The row's whole form (prepared rows that were encoded do not keep it: only PGlite and the tail need it). */
function wholeRowOf(prepared: PreparedRequestLogRow): NewRequestLogRow {
  if (prepared.row === null) throw new Error(`request log ${prepared.id} was prepared without its row`);
  return prepared.row;
}

function copyLineOf(prepared: PreparedRequestLogRow): Buffer {
  if (prepared.copyLine === null) throw new Error(`request log ${prepared.id} was prepared without its COPY text`);
  return prepared.copyLine;
}

/**
 * COPY text in chunks of `linesPerChunk` lines: a group's text is megabytes, and one piece per line would cost the
 * stream a write each.
 */
function* inChunks(lines: readonly Buffer[], linesPerChunk = 100): Generator<Buffer> {
  for (let start = 0; start < lines.length; start += linesPerChunk) {
    yield Buffer.concat(lines.slice(start, start + linesPerChunk));
  }
}

/**
 * The batch insert on Postgres, inside the caller's transaction: the rows (and their replay facts) are streamed with
 * COPY into the connection's staging tables first, without the lock, so a second group's copy overlaps the insert of
 * the group holding it (RequestLogBatchProcessor keeps two in flight); then lock, INSERT … SELECT from staging with
 * ON CONFLICT (id) DO NOTHING (COPY itself cannot skip the ids of an earlier delivery), rollups, replay facts.
 */
async function insertBatchByCopy(client: pg.PoolClient, rows: PreparedRequestLogRow[]): Promise<InsertedBatch> {
  const sql = pgRunner(client);
  if (rows.length === 0) {
    const afterSeq = await lockAndReadLatestSeq(sql);
    return { afterSeq, lastSeq: afterSeq, inserted: [] };
  }
  await client.query(STAGING_TABLES);
  await copyInto(client, 'request_log_batch_staging', inChunks(rows.map(copyLineOf)));
  const afterSeq = await lockAndReadLatestSeq(sql);
  const [result] = await sql<InsertResult>(
    `WITH inserted AS (
      INSERT INTO request_logs (${INSERT_COLUMN_LIST})
      SELECT ${INSERT_COLUMN_LIST} FROM request_log_batch_staging
      ON CONFLICT (id) DO NOTHING
      RETURNING id, seq)
    ${AGGREGATE_INSERTED}`,
    [],
  );
  const inserted = insertedOf(result);
  if (inserted.length > 0) await upsertRollups(sql, rows, inserted);
  if (inserted.length > 0 && rows.some((row) => row.hasReplayFacts)) {
    // Only the facts of rows that were new, with their seq (a redelivered row keeps the facts it has).
    await storeReplayFacts(
      sql,
      `SELECT s.id AS request_log_id, s.endpoint_id, i.seq, s.replay_facts AS facts
      FROM request_log_batch_staging s JOIN unnest($1::text[], $2::bigint[]) AS i(id, seq) ON i.id = s.id
      WHERE s.replay_facts IS NOT NULL AND s.endpoint_id IS NOT NULL`,
      [inserted.map(({ id }) => id), inserted.map(({ seq }) => seq.toString())],
    );
  }
  return { afterSeq, lastSeq: inserted.at(-1)?.seq ?? afterSeq, inserted };
}

/**
 * Adds the newly inserted rows (not the duplicates of an earlier delivery) to the traffic rollups, in the insert's
 * transaction: a retried batch can neither count twice nor leave the charts behind the log.
 */
async function upsertRollups(sql: SqlRunner, rows: PreparedRequestLogRow[], inserted: { id: string }[]): Promise<void> {
  // Usually every row is new: then there is nothing to filter out.
  let counted = rows;
  if (inserted.length < rows.length) {
    const insertedIds = new Set(inserted.map(({ id }) => id));
    counted = rows.filter((row) => insertedIds.has(row.id));
  }
  const { rollups, keys } = rollUp(counted);
  await sql(
    `INSERT INTO traffic_rollups AS t (resolution, bucket, endpoint_id, requests, denied, rate_limited, upstream_errors,
      duration_sum_ms, latency_histogram)
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(resolution integer, bucket timestamptz,
      endpoint_id text, requests bigint, denied bigint, rate_limited bigint, upstream_errors bigint,
      duration_sum_ms double precision, latency_histogram bigint[])
    ON CONFLICT (resolution, bucket, endpoint_id) DO UPDATE SET
      requests = t.requests + excluded.requests,
      denied = t.denied + excluded.denied,
      rate_limited = t.rate_limited + excluded.rate_limited,
      upstream_errors = t.upstream_errors + excluded.upstream_errors,
      duration_sum_ms = t.duration_sum_ms + excluded.duration_sum_ms,
      latency_histogram = traffic_histogram_add(t.latency_histogram, excluded.latency_histogram)`,
    [jsonParameter(rollups)],
  );
  if (keys.length === 0) return;
  await sql(
    `INSERT INTO traffic_rollup_keys AS t (resolution, kind, bucket, endpoint_id, key, count)
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(resolution integer, kind text,
      bucket timestamptz, endpoint_id text, key text, count bigint)
    ON CONFLICT (resolution, kind, bucket, endpoint_id, key) DO UPDATE SET count = t.count + excluded.count`,
    [jsonParameter(keys)],
  );
  // Keep the largest TOP_KEYS_PER_BUCKET keys of each group this batch touched (traffic-rollup.ts says why).
  const groups = [
    ...new Map(keys.map((key) => [`${key.resolution} ${key.kind} ${key.bucket} ${key.endpoint_id}`, key])).values(),
  ].map(({ resolution, kind, bucket, endpoint_id }) => ({ resolution, kind, bucket, endpoint_id }));
  await sql(
    `DELETE FROM traffic_rollup_keys t USING (
      SELECT ranked.resolution, ranked.kind, ranked.bucket, ranked.endpoint_id, ranked.key FROM (
        SELECT k.resolution, k.kind, k.bucket, k.endpoint_id, k.key, row_number() OVER (
          PARTITION BY k.resolution, k.kind, k.bucket, k.endpoint_id ORDER BY k.count DESC, k.key) AS rank
        FROM traffic_rollup_keys k
        JOIN jsonb_to_recordset($1::jsonb)
          AS g(resolution integer, kind text, bucket timestamptz, endpoint_id text)
          ON k.resolution = g.resolution AND k.kind = g.kind AND k.bucket = g.bucket AND k.endpoint_id = g.endpoint_id
      ) ranked WHERE ranked.rank > $2::int
    ) doomed
    WHERE t.resolution = doomed.resolution AND t.kind = doomed.kind AND t.bucket = doomed.bucket
      AND t.endpoint_id = doomed.endpoint_id AND t.key = doomed.key`,
    [jsonParameter(groups), TOP_KEYS_PER_BUCKET],
  );
}

/** The replay facts of the newly inserted rows, with their seq (PGlite path: one JSON parameter). */
function replayFactsOf(rows: NewRequestLogRow[], inserted: { id: string; seq: bigint }[]) {
  const seqById = new Map(inserted.map(({ id, seq }) => [id, seq]));
  return rows.flatMap((row) => {
    const seq = seqById.get(row.id);
    const replay = row[REPLAY_FACTS];
    return seq === undefined || row.endpoint_id === null || replay === undefined || replay === null
      ? []
      : [{ request_log_id: row.id, endpoint_id: row.endpoint_id, seq: seq.toString(), facts: replay }];
  });
}

/**
 * Inserts the replay facts of the batch's new rows and keeps the newest `replayFactsPerEndpoint` (N) of every endpoint
 * they belong to, in the insert's transaction. `source` is a query with its parameters that yields (request_log_id,
 * endpoint_id, seq, facts) of the new rows.
 *
 * Each endpoint's facts are numbered on from its newest ordinal in seq order (the insert lock serializes writers, so a
 * number is never handed out twice), and each new fact numbered `o` evicts the one numbered `o - N`. So after every
 * batch no fact of an endpoint is numbered `newest - N` or lower (it holds for the migration that introduced the
 * numbers, which numbered at most N per endpoint from 1): what falls out is found by equality on (endpoint_id,
 * ordinal), without reading the rows that stay. A lookup per evicted fact is also the plan Postgres picks whatever its
 * statistics say; a range (`ordinal <= newest - N`) was planned as a sequential scan of the whole table when the
 * statistics were stale. Each endpoint's newest ordinal is read once (MATERIALIZED: inlined into the join, the
 * subquery ran once per row), from the batch's endpoint ids alone: when the numbering read them from a CTE of the
 * whole batch, that CTE was materialized with every fact in it (megabytes, written to a temporary file), about a fifth
 * of the statement (psql, the same 2,564 facts: 38-47 ms against 29-35 ms). A second statement, not a CTE of the
 * first: a batch with more than N new facts for one endpoint evicts some of its own, which only a later statement
 * sees.
 *
 * The facts belong to rows this transaction has just inserted, so their seqs (the key) are new unless the seq
 * sequence was restarted under facts that outlived their rows (request_logs truncated alone with RESTART IDENTITY):
 * such a stale fact is replaced, where failing would lose every batch that reaches its seq, and skipping would pair
 * the new row with another request's facts.
 */
async function storeReplayFacts(sql: SqlRunner, source: string, parameters: unknown[]): Promise<void> {
  const [evicted] = await sql<{ endpoint_ids: string[] | null; ordinals: string[] | null }>(
    `WITH numbered_from AS MATERIALIZED (
      SELECT e.endpoint_id,
        coalesce((SELECT max(f.ordinal) FROM request_replay_facts f WHERE f.endpoint_id = e.endpoint_id), 0) AS ordinal
      FROM (SELECT DISTINCT endpoint_id FROM (${source}) AS source) AS e),
    stored AS (
      INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts)
      SELECT b.seq, b.request_log_id, b.endpoint_id, n.ordinal + b.n, b.facts
      FROM (
        SELECT seq, request_log_id, endpoint_id, facts, row_number() OVER (PARTITION BY endpoint_id ORDER BY seq) AS n
        FROM (${source}) AS source
      ) AS b JOIN numbered_from n ON n.endpoint_id = b.endpoint_id
      ON CONFLICT (seq) DO UPDATE SET request_log_id = excluded.request_log_id, endpoint_id = excluded.endpoint_id,
        ordinal = excluded.ordinal, facts = excluded.facts
      RETURNING endpoint_id, ordinal)
    SELECT array_agg(endpoint_id) AS endpoint_ids, array_agg((ordinal - ${replayFactsPerEndpoint})::text) AS ordinals
    FROM stored WHERE ordinal > ${replayFactsPerEndpoint}`,
    parameters,
  );
  // array_agg over no rows is null: nothing reached its bound.
  const endpointIds = evicted?.endpoint_ids ?? [];
  if (endpointIds.length === 0) return;
  await sql(
    `DELETE FROM request_replay_facts f USING unnest($1::text[], $2::bigint[]) AS evicted(endpoint_id, ordinal)
    WHERE f.endpoint_id = evicted.endpoint_id AND f.ordinal = evicted.ordinal`,
    [endpointIds, evicted?.ordinals ?? []],
  );
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

function filterConditions(filters: RequestLogFilters): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (filters.endpointId !== undefined) conditions.push(Prisma.sql`endpoint_id = ${filters.endpointId}`);
  if (filters.status !== undefined) {
    conditions.push(
      filters.status.min === filters.status.max
        ? Prisma.sql`status = ${filters.status.min}`
        : Prisma.sql`status BETWEEN ${filters.status.min} AND ${filters.status.max}`,
    );
  }
  if (filters.method !== undefined) conditions.push(Prisma.sql`method = ${filters.method}`);
  if (filters.clientIp !== undefined) {
    // An address walks the (client_ip, timestamp) index; a range compares as inet (the guarded cast of migration
    // request_log_client_inet: a stored value that is not an address matches no range instead of failing the query).
    conditions.push(
      'address' in filters.clientIp
        ? Prisma.sql`client_ip = ${filters.clientIp.address}`
        : Prisma.sql`request_log_client_inet(client_ip) <<= ${filters.clientIp.range}::inet`,
    );
  }
  if (filters.action !== undefined) conditions.push(Prisma.sql`decision_action = ${filters.action}`);
  if (filters.from !== undefined) conditions.push(Prisma.sql`"timestamp" >= ${filters.from}`);
  if (filters.to !== undefined) conditions.push(Prisma.sql`"timestamp" < ${filters.to}`);
  if (filters.tool !== undefined) conditions.push(Prisma.sql`mcp_tool = ${filters.tool}`);
  if (filters.shadowDiffers === true) conditions.push(Prisma.sql`shadow_differs`);
  // `@>` on a one-element array walks the GIN index of caller_ids; the index is partial (rows with a caller only,
  // migration request_log_caller_ids_partial), and the planner uses it only when the query repeats its predicate.
  if (filters.caller !== undefined)
    conditions.push(Prisma.sql`caller_ids @> ARRAY[${filters.caller}]::text[] AND caller_ids <> '{}'`);
  if (filters.q !== undefined) {
    const pattern = `%${escapeLike(filters.q)}%`;
    conditions.push(
      Prisma.sql`(path ILIKE ${pattern} OR host ILIKE ${pattern} OR mcp_tool ILIKE ${pattern} OR mcp->>'method' ILIKE ${pattern})`,
    );
  }
  return conditions;
}

function where(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length === 0 ? Prisma.empty : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
}

/**
 * The request log. Raw SQL on purpose: the batch insert is one statement with one JSON parameter (fast at thousands of
 * rows per second) and the newest-first keyset pagination needs a row comparison that walks the
 * (timestamp DESC, id DESC) index.
 */
@Injectable()
export class RequestLogsRepository {
  constructor(
    private readonly prisma: PrismaService,
    /** Postgres only (null or absent on PGlite): the batch insert runs on a plain client, without Prisma. */
    @Optional() @Inject(POSTGRES_POOL) private readonly pool: pg.Pool | null = null,
  ) {}

  /**
   * The row as it waits for its insert (PreparedRequestLogRow): on Postgres its COPY text, encoded now, in Buffers;
   * `keepRow` keeps the whole row as well (for the tail message). PGlite always keeps it.
   */
  prepareRow(row: NewRequestLogRow, keepRow: boolean): PreparedRequestLogRow {
    const prepared = { ...rollupFieldsOf(row), id: row.id };
    const facts = row[REPLAY_FACTS];
    const hasReplayFacts = row.endpoint_id !== null && facts !== undefined && facts !== null;
    if (this.pool === null) return { ...prepared, row, copyLine: null, hasReplayFacts };
    return {
      ...prepared,
      row: keepRow ? row : null,
      copyLine: Buffer.from(REQUEST_LOG_COPY.encode([row])),
      hasReplayFacts,
    };
  }

  /**
   * Inserts the rows, skipping ids already stored (at-least-once delivery), and says which were new. The new ids and
   * their seqs come back as two arrays in one result row: thousands of RETURNING rows each cost the driver and Prisma
   * an object per row, which showed in the worker's profile. On Postgres the transaction runs on a node-postgres
   * client of Prisma's pool: Prisma's raw queries JSON-serialize and re-parse every parameter (the batch is megabytes
   * of JSON), which was about a third of the worker's CPU per event.
   */
  async insertRequestLogs(rows: PreparedRequestLogRow[]): Promise<InsertedBatch> {
    if (this.pool === null) {
      const json = jsonParameter(rows.map(wholeRowOf));
      return this.prisma.$transaction((tx) => insertBatch(prismaRunner(tx), rows, json));
    }
    const client = await this.pool.connect();
    // A checked-out client is the holder's to watch: the pool listens only to idle ones. When the connection breaks
    // mid-batch (Postgres stopped), the client emits 'error' besides failing the query, and with no listener that
    // event ended the worker (seen in the chaos test). The failed query already carries the error.
    client.on('error', ignoreClientError);
    try {
      await client.query('BEGIN');
      const batch = await insertBatchByCopy(client, rows);
      await client.query('COMMIT');
      client.removeListener('error', ignoreClientError);
      client.release();
      return batch;
    } catch (error) {
      // A failed ROLLBACK means the connection is broken: release(error) discards it instead of pooling it.
      await client.query('ROLLBACK').then(
        () => {
          client.removeListener('error', ignoreClientError);
          client.release();
        },
        // A discarded client keeps the listener: its socket may still report the break after release.
        (rollbackError: unknown) => client.release(rollbackError as Error),
      );
      throw error;
    }
  }

  /** Newest first (timestamp, then id), `limit + 1` rows so the caller can tell whether another page exists. */
  listRequestLogs(
    filters: RequestLogFilters,
    before: RequestLogCursor | undefined,
    limit: number,
  ): Promise<RequestLogRow[]> {
    const conditions = filterConditions(filters);
    if (before !== undefined) conditions.push(Prisma.sql`("timestamp", id) < (${before.timestamp}, ${before.id})`);
    return this.prisma.$queryRaw<RequestLogRow[]>`
      SELECT ${SUMMARY_COLUMNS} FROM request_logs ${where(conditions)}
      ORDER BY "timestamp" DESC, id DESC LIMIT ${limit + 1}`;
  }

  async findRequestLogById(id: string): Promise<RequestLogDetailRow | null> {
    const rows = await this.prisma.$queryRaw<RequestLogDetailRow[]>`
      SELECT ${SUMMARY_COLUMNS}, trace, runtime_errors, request_headers, response_headers, request_body, response_body
      FROM request_logs WHERE id = ${id}`;
    return rows[0] ?? null;
  }

  /** The newest seq committed (0 when empty). Rows committed later always have a larger seq. */
  async findLatestSeq(): Promise<bigint> {
    const [{ max }] = await this.prisma.$queryRaw<[{ max: bigint }]>`
      SELECT coalesce(max(seq), 0)::bigint AS max FROM request_logs`;
    return max;
  }

  /** Rows with afterSeq < seq ≤ upToSeq that match, oldest first (live-tail replay and gap filling). */
  listRequestLogsAfterSeq(
    filters: RequestLogFilters,
    afterSeq: bigint,
    upToSeq: bigint,
    limit: number,
  ): Promise<RequestLogRow[]> {
    const conditions = [...filterConditions(filters), Prisma.sql`seq > ${afterSeq}`, Prisma.sql`seq <= ${upToSeq}`];
    return this.prisma.$queryRaw<RequestLogRow[]>`
      SELECT ${SUMMARY_COLUMNS} FROM request_logs ${where(conditions)} ORDER BY seq ASC LIMIT ${limit}`;
  }

  /**
   * Deletes up to `chunk` rows older than `cutoff` and their replay facts (no foreign key does it: the schema says
   * why); returns how many rows (call until it returns less than `chunk`).
   */
  async deleteRequestLogsOlderThan(cutoff: Date, chunk: number): Promise<number> {
    const [deleted] = await this.prisma.$queryRaw<{ count: number }[]>`
      WITH doomed AS (
        DELETE FROM request_logs WHERE id IN (
          SELECT id FROM request_logs WHERE "timestamp" < ${cutoff} ORDER BY "timestamp" LIMIT ${chunk})
        RETURNING seq),
      facts AS (DELETE FROM request_replay_facts WHERE seq IN (SELECT seq FROM doomed))
      SELECT count(*)::int AS count FROM doomed`;
    return deleted?.count ?? 0;
  }

  /** Deletes the traffic rollups of buckets that start before `cutoff` (they age out with the rows they count). */
  async deleteTrafficRollupsOlderThan(cutoff: Date): Promise<number> {
    const rollups = await this.prisma.$executeRaw`DELETE FROM traffic_rollups WHERE bucket < ${cutoff}`;
    const keys = await this.prisma.$executeRaw`DELETE FROM traffic_rollup_keys WHERE bucket < ${cutoff}`;
    return rollups + keys;
  }

  countRequestLogs(): Promise<number> {
    return this.prisma.$queryRaw<[{ count: bigint }]>`SELECT count(*)::bigint AS count FROM request_logs`.then(
      ([row]) => Number(row.count),
    );
  }
}

/** See insertRequestLogs: the error also rejects the query in flight, which reports it. */
function ignoreClientError(): void {}
