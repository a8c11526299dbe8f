import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { ALL_ENDPOINTS } from '../request-logs/traffic-rollup';

/** One window of one resolution, optionally one endpoint. */
export interface TrafficWindow {
  resolution: number;
  from: Date;
  to: Date;
  endpointId?: string | undefined;
}

export interface BucketCountsRow {
  bucket: Date;
  requests: bigint;
  denied: bigint;
  rate_limited: bigint;
  upstream_errors: bigint;
}

export interface BucketBinRow {
  bucket: Date;
  /** 1-based, as Postgres arrays are. */
  bin: number;
  count: bigint;
}

export interface KeyCountRow {
  endpoint_id: string;
  key: string;
  count: bigint;
}

export interface EndpointTotalsRow {
  endpoint_id: string;
  requests: bigint;
  denied: bigint;
  rate_limited: bigint;
  upstream_errors: bigint;
}

/** Without an endpoint, the rows kept for all of them together (ALL_ENDPOINTS). */
function windowConditions(table: string, window: TrafficWindow): Prisma.Sql {
  const alias = Prisma.raw(table);
  return Prisma.sql`${alias}.resolution = ${window.resolution} AND ${alias}.bucket >= ${window.from}
    AND ${alias}.bucket < ${window.to} AND ${alias}.endpoint_id = ${window.endpointId ?? ALL_ENDPOINTS}`;
}

/**
 * Reads the traffic rollups (request_logs is never scanned here): each query touches one row per bucket — 60, 96 or
 * 168 — of one endpoint or of all together, and at most TOP_KEYS_PER_BUCKET keys per bucket, through the indexes
 * (resolution, endpoint_id, bucket) and (resolution, kind, endpoint_id, bucket).
 */
@Injectable()
export class TrafficRepository {
  constructor(private readonly prisma: PrismaService) {}

  async endpointExists(id: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<unknown[]>`SELECT 1 FROM endpoints WHERE id = ${id}`;
    return rows.length > 0;
  }

  bucketCounts(window: TrafficWindow): Promise<BucketCountsRow[]> {
    return this.prisma.$queryRaw<BucketCountsRow[]>`
      SELECT r.bucket, sum(r.requests)::bigint AS requests, sum(r.denied)::bigint AS denied,
        sum(r.rate_limited)::bigint AS rate_limited, sum(r.upstream_errors)::bigint AS upstream_errors
      FROM traffic_rollups r WHERE ${windowConditions('r', window)}
      GROUP BY r.bucket`;
  }

  /** The non-empty latency bins of each bucket, summed over endpoints. */
  bucketLatencyBins(window: TrafficWindow): Promise<BucketBinRow[]> {
    return this.prisma.$queryRaw<BucketBinRow[]>`
      SELECT r.bucket, u.bin::int AS bin, sum(u.n)::bigint AS count
      FROM traffic_rollups r CROSS JOIN LATERAL unnest(r.latency_histogram) WITH ORDINALITY AS u(n, bin)
      WHERE ${windowConditions('r', window)} AND u.n > 0
      GROUP BY r.bucket, u.bin`;
  }

  /** The `limit` largest keys of a kind over the window. */
  topKeys(window: TrafficWindow, kind: string, limit: number): Promise<Omit<KeyCountRow, 'endpoint_id'>[]> {
    return this.prisma.$queryRaw<Omit<KeyCountRow, 'endpoint_id'>[]>`
      SELECT k.key, sum(k.count)::bigint AS count
      FROM traffic_rollup_keys k WHERE k.kind = ${kind} AND ${windowConditions('k', window)}
      GROUP BY k.key ORDER BY count DESC, k.key LIMIT ${limit}`;
  }

  /**
   * Denials per bucket and rule. The rule's endpoint is in the key when the window spans all endpoints (rule indexes
   * are per policy), see denyRuleKey.
   */
  denyRuleCounts(window: TrafficWindow): Promise<(Omit<KeyCountRow, 'endpoint_id'> & { bucket: Date })[]> {
    return this.prisma.$queryRaw<(Omit<KeyCountRow, 'endpoint_id'> & { bucket: Date })[]>`
      SELECT k.bucket, k.key, k.count
      FROM traffic_rollup_keys k WHERE k.kind = 'deny_rule' AND ${windowConditions('k', window)}`;
  }

  endpointTotals(window: TrafficWindow): Promise<EndpointTotalsRow[]> {
    return this.prisma.$queryRaw<EndpointTotalsRow[]>`
      SELECT r.endpoint_id, sum(r.requests)::bigint AS requests, sum(r.denied)::bigint AS denied,
        sum(r.rate_limited)::bigint AS rate_limited, sum(r.upstream_errors)::bigint AS upstream_errors
      FROM traffic_rollups r WHERE r.resolution = ${window.resolution} AND r.bucket >= ${window.from}
        AND r.bucket < ${window.to} AND r.endpoint_id NOT IN ('', ${ALL_ENDPOINTS})
      GROUP BY r.endpoint_id ORDER BY requests DESC, r.endpoint_id`;
  }
}
