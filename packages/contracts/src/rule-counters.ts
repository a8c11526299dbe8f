// Per-rule counters (issue 17 item 4): what a data plane counted per rule of the policy versions it ran, shipped with
// its heartbeat, and what the API answers about them for the editor's code lenses. Counted per endpoint + policy version
// + rule, never per client, so the data plane's table and the API's rows are bounded by the number of rules.
import { z } from 'zod';

const phase = z.enum(['on_tcp_connect', 'on_http_request', 'on_http_response']);
const count = z.number().int().min(0);

/** A heartbeat carries at most this many counter rows; a data plane with more ships the rest with the next one. */
export const MAX_RULE_COUNTERS_PER_HEARTBEAT = 10_000;

/**
 * What one rule did since the data plane's previous heartbeat (a delta: the API adds it to its bucket). `evaluations`
 * counts every time the rule was reached (matched or not) and `latency_ms_sum` what those evaluations cost, so
 * sum / evaluations is the latency the rule adds to a request that reaches it.
 */
export const RuleCounterDeltaSchema = z
  .object({
    endpoint_id: z.string().min(1).max(255),
    policy_version: z.number().int().min(1),
    phase,
    rule_index: z.number().int().min(0).max(10_000),
    evaluations: count,
    hits: count.meta({ description: 'Evaluations whose expressions all matched' }),
    denies: count.meta({ description: 'Requests this rule ended with a status outside 2xx' }),
    latency_ms_sum: z.number().min(0),
    /** Epoch milliseconds of the last match in this interval; null when the rule did not match. */
    last_match_ms: z.number().int().min(0).nullable(),
  })
  .meta({ id: 'RuleCounterDelta' });
export type RuleCounterDelta = z.infer<typeof RuleCounterDeltaSchema>;

export const RuleCounterWindowSchema = z
  .object({
    evaluations: count,
    hits: count,
    denies: count,
    avg_latency_ms: z
      .number()
      .min(0)
      .nullable()
      .meta({ description: 'Mean milliseconds one evaluation of the rule cost; null when it was not evaluated' }),
  })
  .meta({ id: 'RuleCounterWindow' });
export type RuleCounterWindow = z.infer<typeof RuleCounterWindowSchema>;

export const RuleStatsSchema = z
  .object({
    phase,
    rule_index: z.number().int().min(0),
    last_hour: RuleCounterWindowSchema,
    last_day: RuleCounterWindowSchema,
    last_match_at: z.iso.datetime({ offset: true }).nullable(),
  })
  .meta({ id: 'RuleStats' });
export type RuleStats = z.infer<typeof RuleStatsSchema>;

/** GET /api/endpoints/{id}/policy/rule-stats: the counters of one version (the active one unless `version=`). */
export const PolicyRuleStatsSchema = z
  .object({
    endpoint_id: z.string(),
    policy_version: z.number().int().min(1).nullable(),
    /** Counters reach the API with data-plane heartbeats, so the newest are up to one interval old. */
    heartbeat_interval_seconds: z.number().int().min(1),
    /** Rules that were evaluated at least once in the last day, by phase then rule index. */
    rules: z.array(RuleStatsSchema),
  })
  .meta({ id: 'PolicyRuleStats' });
export type PolicyRuleStats = z.infer<typeof PolicyRuleStatsSchema>;

/** Policy versions are Postgres `integer`s: a larger number is bad input (400), not a query that fails (500). */
export const policyVersionMax = 2_147_483_647;

export const PolicyRuleStatsQuerySchema = z.strictObject({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(policyVersionMax)
    .optional()
    .meta({ description: 'A policy version of the endpoint; the active one when absent' }),
});
export type PolicyRuleStatsQuery = z.output<typeof PolicyRuleStatsQuerySchema>;
