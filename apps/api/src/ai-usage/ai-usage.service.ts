import type { AiUsage, AiUsageQuery } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { AiUsageRepository } from './ai-usage.repository';

const dayMs = 86_400_000;

@Injectable()
export class AiUsageService {
  constructor(private readonly repository: AiUsageRepository) {}

  /** Usage of the last `days` UTC days, today included. */
  async usage(query: AiUsageQuery, now = new Date()): Promise<AiUsage> {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const from = new Date(today - (query.days - 1) * dayMs);
    const rows = await this.repository.sumUsage(from, query.endpoint_id);
    return {
      from: from.toISOString().slice(0, 10),
      to: new Date(today).toISOString().slice(0, 10),
      rows: rows.map((row) => ({
        day: row.day,
        provider: row.provider,
        model: row.model,
        client_key: row.client_key,
        requests: Number(row.requests),
        input_tokens: Number(row.input_tokens),
        output_tokens: Number(row.output_tokens),
        cost_usd: Math.round(row.cost_usd * 1e9) / 1e9,
      })),
    };
  }
}
