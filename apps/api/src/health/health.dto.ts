import { z } from 'zod';

const DependencyHealthSchema = z.object({
  /** `disabled`: not configured — without REDIS_URL the embedded shape connects its parts in-process. */
  status: z.enum(['ok', 'error', 'disabled']),
  latency_ms: z.number(),
  error: z.string().optional(),
});
export type DependencyHealth = z.infer<typeof DependencyHealthSchema>;

export const HealthResponseSchema = z
  .object({ status: z.enum(['ok', 'error']), database: DependencyHealthSchema, redis: DependencyHealthSchema })
  .meta({ id: 'Health' });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
