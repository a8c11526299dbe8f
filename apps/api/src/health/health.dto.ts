import { z } from 'zod';

const DependencyHealthSchema = z.object({
  status: z.enum(['ok', 'error']),
  latency_ms: z.number(),
  error: z.string().optional(),
});
export type DependencyHealth = z.infer<typeof DependencyHealthSchema>;

export const HealthResponseSchema = z
  .object({ status: z.enum(['ok', 'error']), database: DependencyHealthSchema, redis: DependencyHealthSchema })
  .meta({ id: 'Health' });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
