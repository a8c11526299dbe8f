import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';

export interface AiUsageSqlRow {
  day: string;
  provider: string;
  model: string;
  client_key: string;
  requests: bigint;
  input_tokens: bigint;
  output_tokens: bigint;
  cost_usd: number;
}

@Injectable()
export class AiUsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Sums of the ai_gateway column by UTC day, provider, model and client key, over the time-range index. Rows
   * without ai_gateway are skipped by the condition on the column itself.
   */
  async sumUsage(from: Date, endpointId: string | undefined): Promise<AiUsageSqlRow[]> {
    const endpointCondition = endpointId === undefined ? Prisma.empty : Prisma.sql`AND endpoint_id = ${endpointId}`;
    return this.prisma.$queryRaw<AiUsageSqlRow[]>`
      SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
             coalesce(ai_gateway->>'provider', '') AS provider,
             coalesce(ai_gateway->>'model', ai_gateway->>'requested_model', '') AS model,
             coalesce(ai_gateway->>'client_key_hash', '') AS client_key,
             count(*) AS requests,
             coalesce(sum((ai_gateway->>'input_tokens')::bigint), 0)::bigint AS input_tokens,
             coalesce(sum((ai_gateway->>'output_tokens')::bigint), 0)::bigint AS output_tokens,
             coalesce(sum((ai_gateway->>'cost_usd')::double precision), 0)::double precision AS cost_usd
        FROM request_logs
       WHERE timestamp >= ${from} AND ai_gateway IS NOT NULL ${endpointCondition}
       GROUP BY 1, 2, 3, 4
       ORDER BY 1 DESC, 8 DESC, 5 DESC
       LIMIT 5000`;
  }
}
