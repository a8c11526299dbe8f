import type { RecordedRequestInput, RequestDecision, RequestShadow } from '@gatehouse/contracts';
import pg from 'pg';
import { databaseUrl } from './api-process.js';

/** One request-log row as the request-log worker stores it for a request a data plane recorded. */
export interface SeededRequest {
  id: string;
  endpointId: string;
  host: string;
  path?: string;
  status?: number;
  /** Its timestamp relative to now, in seconds (negative: in the past). */
  secondsFromNow: number;
  decision: RequestDecision | null;
  /** What the endpoint's shadow policy judged (request_logs.shadow and shadow_differs); absent → no shadow. */
  shadow?: RequestShadow;
  /** The facts a replay reads (request_replay_facts); absent → not replayable. */
  replay?: RecordedRequestInput;
}

/**
 * Seeds request-log rows straight into Postgres (the data plane's and the worker's own tests cover how they get
 * there). The database outlives a run (CI reuses this machine's Postgres), so rows with the same ids go first, and
 * their replay facts with them (as retention deletes them: no foreign key does).
 */
export async function seedRequestLogs(databaseName: string, rows: readonly SeededRequest[]): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl(databaseName) });
  await db.connect();
  try {
    const ids = rows.map((row) => row.id);
    await db.query('DELETE FROM request_replay_facts WHERE request_log_id = ANY($1)', [ids]);
    await db.query('DELETE FROM request_logs WHERE id = ANY($1)', [ids]);
    for (const row of rows) {
      await db.query(
        `INSERT INTO request_logs (id, "timestamp", endpoint_id, method, host, path, status, duration_ms, client_ip,
           client_ip_categories, decision, shadow, shadow_differs)
         VALUES ($1, now() + make_interval(secs => $2), $3, 'GET', $4, $5, $6, 1, '203.0.113.7', '{}', $7::jsonb,
           $8::jsonb, $9)`,
        [
          row.id,
          row.secondsFromNow,
          row.endpointId,
          row.host,
          row.path ?? '/',
          row.status ?? 200,
          row.decision === null ? null : JSON.stringify(row.decision),
          row.shadow === undefined ? null : JSON.stringify(row.shadow),
          row.shadow?.differs ?? null,
        ],
      );
      if (row.replay !== undefined)
        await db.query(
          `INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts)
           SELECT seq, id, endpoint_id,
             coalesce((SELECT max(ordinal) FROM request_replay_facts f WHERE f.endpoint_id = r.endpoint_id), 0) + 1,
             $2::jsonb
           FROM request_logs r WHERE id = $1`,
          [row.id, JSON.stringify(row.replay)],
        );
    }
  } finally {
    await db.end();
  }
}

/**
 * The replay facts of a recorded `GET https://<host>/` from 203.0.113.7, with a (redacted) bearer token or none: the
 * requests the replay and restore tests replay against a draft that asks for one.
 */
export function recordedGet(host: string, options: { authorized: boolean }): RecordedRequestInput {
  return {
    method: 'GET',
    scheme: 'https',
    host,
    port: '443',
    path: '/',
    query: '',
    headers: options.authorized ? [['authorization', 'Bearer redacted:sha256:00000000000000aa']] : [],
    client_ip: '203.0.113.7',
    client_ip_categories: [],
    server_port: 443,
    tls: null,
    mcp: null,
  };
}
