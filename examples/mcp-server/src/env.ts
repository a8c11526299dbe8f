import { z } from 'zod';

/** The example server's environment, parsed once at boot; a bad value stops it with every problem listed. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3333),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
});

export type McpServerEnv = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): McpServerEnv {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = envSchema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`Invalid environment:\n${problems.join('\n')}`);
}
