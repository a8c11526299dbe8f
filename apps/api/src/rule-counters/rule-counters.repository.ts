import { Injectable } from '@nestjs/common';
import type { RuleCounterDelta } from '@gatehouse/contracts';
import { PrismaService } from '../database/prisma.service';

/** Counter rows are grouped into buckets of this width: "last hour" reads ≤ 12 rows per rule, "last day" ≤ 288. */
export const RULE_COUNTER_BUCKET_MS = 5 * 60 * 1000;
/** Rows are kept this long: a day plus the bucket the day's window starts in. */
export const RULE_COUNTER_RETENTION_MS = 25 * 60 * 60 * 1000;

export interface RuleCounterWindowRow {
  phase: string;
  rule_index: number;
  hour_evaluations: bigint;
  hour_hits: bigint;
  hour_denies: bigint;
  hour_latency_ms: number;
  day_evaluations: bigint;
  day_hits: bigint;
  day_denies: bigint;
  day_latency_ms: number;
  last_match_at: Date | null;
}

@Injectable()
export class RuleCountersRepository {
  constructor(private readonly prisma: PrismaService) {}

  async versionExists(endpointId: string, version: number): Promise<boolean> {
    const row = await this.prisma.policyVersion.findUnique({
      where: { endpointId_version: { endpointId, version } },
      select: { version: true },
    });
    return row !== null;
  }

  async findEndpointActiveVersion(endpointId: string): Promise<{ activeVersion: number | null } | null> {
    const endpoint = await this.prisma.endpoint.findUnique({
      where: { id: endpointId },
      select: { activePolicyVersion: true },
    });
    return endpoint === null ? null : { activeVersion: endpoint.activePolicyVersion };
  }

  /**
   * Adds one heartbeat's deltas to their buckets (the heartbeat's arrival time decides the bucket) in one statement,
   * and drops rows past retention. Deltas of one rule are summed first: ON CONFLICT cannot touch a row twice.
   */
  async addDeltas(deltas: readonly RuleCounterDelta[], now: Date): Promise<void> {
    if (deltas.length > 0) {
      const bucket = new Date(Math.floor(now.getTime() / RULE_COUNTER_BUCKET_MS) * RULE_COUNTER_BUCKET_MS);
      await this.prisma.$executeRaw`
        INSERT INTO policy_rule_counters AS t (endpoint_id, policy_version, phase, rule_index, bucket, evaluations, hits,
          denies, latency_sum_ms, last_match_at)
        SELECT x.endpoint_id, x.policy_version, x.phase, x.rule_index, ${bucket}, sum(x.evaluations)::bigint,
          sum(x.hits)::bigint, sum(x.denies)::bigint, sum(x.latency_ms_sum),
          to_timestamp(max(x.last_match_ms) / 1000.0)
        FROM jsonb_to_recordset(${JSON.stringify(deltas)}::jsonb) AS x(endpoint_id text, policy_version integer,
          phase text, rule_index integer, evaluations bigint, hits bigint, denies bigint, latency_ms_sum double precision,
          last_match_ms bigint)
        GROUP BY x.endpoint_id, x.policy_version, x.phase, x.rule_index
        ON CONFLICT (endpoint_id, policy_version, phase, rule_index, bucket) DO UPDATE SET
          evaluations = t.evaluations + excluded.evaluations, hits = t.hits + excluded.hits,
          denies = t.denies + excluded.denies, latency_sum_ms = t.latency_sum_ms + excluded.latency_sum_ms,
          last_match_at = greatest(t.last_match_at, excluded.last_match_at)`;
    }
  }

  /** Deletes buckets older than the retention (the bucket index makes an empty pass cheap). */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    return this.prisma.$executeRaw`DELETE FROM policy_rule_counters WHERE bucket < ${cutoff}`;
  }

  /** Sums of the last hour's and the last day's buckets per rule of one version. */
  readWindows(endpointId: string, version: number, now: Date): Promise<RuleCounterWindowRow[]> {
    const floor = Math.floor(now.getTime() / RULE_COUNTER_BUCKET_MS) * RULE_COUNTER_BUCKET_MS;
    // The window holds the current (partial) bucket and the ones before it: 12 of 5 minutes ≈ the last hour.
    const hourFrom = new Date(floor - 60 * 60 * 1000 + RULE_COUNTER_BUCKET_MS);
    const dayFrom = new Date(floor - 24 * 60 * 60 * 1000 + RULE_COUNTER_BUCKET_MS);
    return this.prisma.$queryRaw<RuleCounterWindowRow[]>`
      SELECT phase, rule_index,
        coalesce(sum(evaluations) FILTER (WHERE bucket >= ${hourFrom}), 0)::bigint AS hour_evaluations,
        coalesce(sum(hits) FILTER (WHERE bucket >= ${hourFrom}), 0)::bigint AS hour_hits,
        coalesce(sum(denies) FILTER (WHERE bucket >= ${hourFrom}), 0)::bigint AS hour_denies,
        coalesce(sum(latency_sum_ms) FILTER (WHERE bucket >= ${hourFrom}), 0)::float8 AS hour_latency_ms,
        sum(evaluations)::bigint AS day_evaluations, sum(hits)::bigint AS day_hits, sum(denies)::bigint AS day_denies,
        sum(latency_sum_ms)::float8 AS day_latency_ms, max(last_match_at) AS last_match_at
      FROM policy_rule_counters
      WHERE endpoint_id = ${endpointId} AND policy_version = ${version} AND bucket >= ${dayFrom}
      GROUP BY phase, rule_index`;
  }
}
