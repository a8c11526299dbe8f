import { z } from 'zod';

/**
 * The AI usage view (issue 16): tokens and estimated cost of ai-gateway requests by day (UTC), provider and model,
 * and client key, read from the request log. Shared by the API route and the dashboard.
 */
export const AiUsageQuerySchema = z.strictObject({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(90)
    .default(7)
    .meta({ description: 'How many days back from today (UTC), today included; 1 to 90, default 7' }),
  endpoint_id: z
    .string()
    .min(1)
    .max(255)
    // Postgres text cannot hold NUL (the query would fail with a 500), and no endpoint id has control characters.
    .refine(
      (id) => ![...id].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f),
      'must not contain control characters',
    )
    .optional()
    .meta({ description: 'Only requests of this endpoint' }),
});
export type AiUsageQuery = z.output<typeof AiUsageQuerySchema>;

const count = z.number().int().min(0);

export const AiUsageRowSchema = z.object({
  /** The UTC day, `YYYY-MM-DD`. */
  day: z.string(),
  provider: z.string().meta({ description: 'The provider that answered; empty when every attempt failed' }),
  model: z.string(),
  client_key: z
    .string()
    .meta({ description: '`sha256:` + 16 hex of the client’s own key; empty when the request carried none' }),
  requests: count,
  input_tokens: count,
  output_tokens: count,
  cost_usd: z.number().min(0).meta({ description: 'Sum of the estimates (requests without a price count 0)' }),
});
export type AiUsageRow = z.output<typeof AiUsageRowSchema>;

export const AiUsageSchema = z
  .object({
    from: z.string().meta({ description: 'First day counted (UTC)' }),
    to: z.string().meta({ description: 'Last day counted (UTC), today' }),
    rows: z.array(AiUsageRowSchema).meta({ description: 'Newest day first, then by cost' }),
  })
  .meta({ id: 'AiUsage' });
export type AiUsage = z.output<typeof AiUsageSchema>;
