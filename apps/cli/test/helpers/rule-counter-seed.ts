import pg from 'pg';
import { databaseUrl } from './api-process.js';

/** One per-rule counter bucket as the API stores what data-plane heartbeats carried (policy_rule_counters). */
export interface SeededRuleCounter {
  endpointId: string;
  version: number;
  phase: 'on_tcp_connect' | 'on_http_request' | 'on_http_response';
  ruleIndex: number;
  /** How many hours before the current 5-minute bucket (0: the current one). */
  hoursAgo: number;
  evaluations: number;
  hits: number;
  denies: number;
  latencySumMs: number;
  /** Seconds before now of the newest match; absent → none. */
  lastMatchSecondsAgo?: number;
}

/**
 * Seeds counter buckets straight into Postgres (the API's own tests cover heartbeats storing them). The table has no
 * foreign key to endpoints and the database outlives a run, so callers delete what they seeded (deleteRuleCounters).
 */
export async function seedRuleCounters(databaseName: string, rows: readonly SeededRuleCounter[]): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl(databaseName) });
  await db.connect();
  try {
    for (const row of rows)
      await db.query(
        `INSERT INTO policy_rule_counters (endpoint_id, policy_version, phase, rule_index, bucket, evaluations, hits,
           denies, latency_sum_ms, last_match_at)
         VALUES ($1, $2, $3, $4, to_timestamp(floor(extract(epoch FROM now()) / 300) * 300) - make_interval(hours => $5),
           $6, $7, $8, $9, CASE WHEN $10::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $10::float8) END)`,
        [
          row.endpointId,
          row.version,
          row.phase,
          row.ruleIndex,
          row.hoursAgo,
          row.evaluations,
          row.hits,
          row.denies,
          row.latencySumMs,
          row.lastMatchSecondsAgo ?? null,
        ],
      );
  } finally {
    await db.end();
  }
}

export async function deleteRuleCounters(databaseName: string, endpointIds: readonly string[]): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl(databaseName) });
  await db.connect();
  try {
    await db.query('DELETE FROM policy_rule_counters WHERE endpoint_id = ANY($1)', [endpointIds]);
  } finally {
    await db.end();
  }
}
