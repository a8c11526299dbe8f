// Traffic statistics (issue 19, "traffic at a glance"): the query and answers of GET /api/traffic/summary and
// GET /api/traffic/endpoints, the one copy. The API computes them from the rollups it maintains at ingestion; the
// dashboard's overview page, its endpoint Traffic tab and the endpoint list read them through the generated client.
import { z } from 'zod';

/** The windows a chart can show; each has one bucket width (60 points of 1 min, 96 of 15 min, 168 of 1 h). */
export const trafficRanges = ['1h', '24h', '7d'] as const;
export type TrafficRange = (typeof trafficRanges)[number];

/** Bucket width in seconds per range: also the rollup resolution the API reads. */
export const trafficBucketSeconds: Readonly<Record<TrafficRange, number>> = { '1h': 60, '24h': 900, '7d': 3600 };
export const trafficRangeSeconds: Readonly<Record<TrafficRange, number>> = {
  '1h': 3600,
  '24h': 86_400,
  '7d': 604_800,
};

/**
 * Decision actions that count as a denial: the request was refused by policy. A 429 from `rate-limit` is counted apart
 * (rate_limited), and `custom-response`/`redirect` answer on purpose rather than refuse.
 */
export const denyingActions: readonly string[] = [
  'deny',
  'restrict-ips',
  'basic-auth',
  'jwt-validation',
  'verify-webhook',
  'close-connection',
];

const RangeSchema = z.enum(trafficRanges).default('24h').meta({
  description: 'The window ending now: `1h` (1-minute buckets), `24h` (15-minute buckets) or `7d` (1-hour buckets)',
});

// strictObject: a misspelt parameter (`endpoint=`, `range_=`) is a 400, not silently the whole installation.
export const TrafficSummaryQuerySchema = z.strictObject({
  range: RangeSchema,
  endpoint_id: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: 'Only this endpoint (404 ENDPOINT_NOT_FOUND when it does not exist)' }),
});
export type TrafficSummaryQuery = z.output<typeof TrafficSummaryQuerySchema>;

export const TrafficEndpointsQuerySchema = z.strictObject({ range: RangeSchema });
export type TrafficEndpointsQuery = z.output<typeof TrafficEndpointsQuerySchema>;

const count = z.number().int().min(0);
const latency = z.number().min(0).nullable().meta({ description: 'Milliseconds; null when no request' });

const TrafficCountsShape = {
  requests: count,
  denied: count.meta({ description: 'Refused by a blocking action (deny, restrict-ips, auth, verify-webhook, …)' }),
  rate_limited: count.meta({ description: 'Answered 429 by a rate-limit action' }),
  upstream_errors: count.meta({ description: 'Status ≥ 500: an upstream 5xx or a gateway error (offline target, …)' }),
};

export const TrafficPointSchema = z
  .object({
    time: z.iso.datetime({ offset: true }).meta({ description: 'Start of the bucket' }),
    ...TrafficCountsShape,
    p50_ms: latency,
    p95_ms: latency,
    denied_by_rule: z
      .record(z.string(), count)
      .meta({ description: 'Denials in this bucket per `top_denied_rules[].key` (the top 5; the rest under "other")' }),
  })
  .meta({ id: 'TrafficPoint' });
export type TrafficPoint = z.infer<typeof TrafficPointSchema>;

export const TrafficDeniedRuleSchema = z
  .object({
    key: z.string().meta({ description: 'Stable id of the rule within this answer' }),
    endpoint_id: z.string().nullable(),
    phase: z.string(),
    rule_index: z.number().int(),
    rule_name: z.string().nullable(),
    count,
  })
  .meta({ id: 'TrafficDeniedRule' });
export type TrafficDeniedRule = z.infer<typeof TrafficDeniedRuleSchema>;

export const TrafficSummarySchema = z
  .object({
    range: z.enum(trafficRanges),
    endpoint_id: z.string().nullable(),
    from: z.iso.datetime({ offset: true }).meta({ description: 'Start of the first bucket (inclusive)' }),
    to: z.iso.datetime({ offset: true }).meta({ description: 'End of the last bucket (exclusive, the current one)' }),
    bucket_seconds: z.number().int(),
    totals: z.object({ ...TrafficCountsShape, p50_ms: latency, p95_ms: latency }),
    series: z.array(TrafficPointSchema),
    top_denied_rules: z.array(TrafficDeniedRuleSchema),
    top_denied_clients: z.array(z.object({ client_ip: z.string(), count })),
    top_mcp_tools: z.array(z.object({ tool: z.string(), count })),
  })
  .meta({ id: 'TrafficSummary' });
export type TrafficSummary = z.infer<typeof TrafficSummarySchema>;

export const TrafficEndpointTotalsSchema = z
  .object({ endpoint_id: z.string(), ...TrafficCountsShape })
  .meta({ id: 'TrafficEndpointTotals' });
export type TrafficEndpointTotals = z.infer<typeof TrafficEndpointTotalsSchema>;

export const TrafficEndpointsSchema = z
  .object({
    range: z.enum(trafficRanges),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    endpoints: z
      .array(TrafficEndpointTotalsSchema)
      .meta({ description: 'Endpoints with at least one request in the window, busiest first' }),
  })
  .meta({ id: 'TrafficEndpoints' });
export type TrafficEndpoints = z.infer<typeof TrafficEndpointsSchema>;
