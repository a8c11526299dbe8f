import { queryOptions } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { aiUsageKeys } from './query-keys';
import { apiClient } from './request-client';

export type AiUsage = components['schemas']['AiUsage'];
export type AiUsageRow = AiUsage['rows'][number];

export const aiUsageQueries = {
  byDays: (days: number) =>
    queryOptions({
      queryKey: aiUsageKeys.byDays(days),
      queryFn: () => unwrap(apiClient.GET('/api/ai-usage', { params: { query: { days } } })),
      refetchInterval: 30_000,
    }),
};

export interface UsageTotals {
  key: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** Sums rows by `keyOf`, largest cost first (ties: more tokens first). */
export function totalsBy(rows: readonly AiUsageRow[], keyOf: (row: AiUsageRow) => string): UsageTotals[] {
  const totals = new Map<string, UsageTotals>();
  for (const row of rows) {
    const key = keyOf(row);
    const total = totals.get(key) ?? { key, requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
    total.requests += row.requests;
    total.input_tokens += row.input_tokens;
    total.output_tokens += row.output_tokens;
    total.cost_usd += row.cost_usd;
    totals.set(key, total);
  }
  return [...totals.values()].sort(
    (a, b) => b.cost_usd - a.cost_usd || b.input_tokens + b.output_tokens - (a.input_tokens + a.output_tokens),
  );
}
