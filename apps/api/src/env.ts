// The control plane's environment (DESIGN.md §3), parsed once at boot. Nothing else reads process.env: the parsed
// value is provided to Nest as ENV and passed explicitly everywhere else.
import { randomBytes } from 'node:crypto';
import { redisPrefixSchema } from '@gatehouse/contracts';
import { EnvironmentError } from '@gatehouse/runtime';
import { z } from 'zod';
import { commonPasswordProblem } from './auth/password-policy';
import { isCidrOrAddress } from './traffic-policy/policy-engine';

const postgresUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
  .describe('Postgres connection string');
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });
const port = z.coerce.number().int().min(0).max(65_535);

export const EnvSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  /** Keeps this installation's channels, queues and counters apart from others on the same Redis (contracts/redis-names). */
  GATEHOUSE_REDIS_PREFIX: redisPrefixSchema.optional(),
  API_PORT: port.default(4000),
  GATEHOUSE_DATAPLANE_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  GATEHOUSE_ADMIN_EMAIL: z.email().optional(),
  GATEHOUSE_ADMIN_PASSWORD: z
    .string()
    .min(12, 'must be at least 12 characters')
    .refine((password) => password.trim().length > 0, 'must not be only whitespace')
    .superRefine((password, context) => {
      // The same rule as setup and user creation (PASSWORD_TOO_COMMON there).
      const problem = commonPasswordProblem(password);
      if (problem !== null) context.addIssue({ code: 'custom', message: `${problem}; choose another` });
    })
    .optional(),
  GATEHOUSE_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    )
    .refine((entries) => entries.every(isCidrOrAddress), 'must be a comma-separated list of CIDRs or IP addresses'),
  /** The built dashboard served at `/`; unset → apps/dashboard/dist next to this app, when it has been built. */
  GATEHOUSE_DASHBOARD_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Request logs older than this many days are deleted by the worker's retention job. */
  REQUEST_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  /**
   * Extra header names (comma-separated) never stored in request logs, on top of Authorization, Proxy-Authorization,
   * Cookie and Set-Cookie, which are always removed.
   */
  REQUEST_LOG_REDACT_HEADERS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim().toLowerCase())
        .filter((entry) => entry.length > 0),
    )
    .refine(
      (names) => names.every((name) => /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)),
      'must be comma-separated header names',
    ),
});

export type EnvInput = z.input<typeof EnvSchema>;
export type Env = z.output<typeof EnvSchema> & {
  /** Always set after parsing: generated for this process when GATEHOUSE_DATAPLANE_TOKEN is unset (embedded shape). */
  GATEHOUSE_DATAPLANE_TOKEN: string;
};

export class EnvError extends EnvironmentError {
  constructor(problems: readonly string[]) {
    super(problems);
    this.name = 'EnvError';
  }
}

/** Parses the environment, listing every bad variable at once. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const problems: string[] = [];
  if ((result.data.GATEHOUSE_ADMIN_EMAIL === undefined) !== (result.data.GATEHOUSE_ADMIN_PASSWORD === undefined)) {
    problems.push('GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD must be set together');
  }
  if (problems.length > 0) throw new EnvError(problems);
  return {
    ...result.data,
    GATEHOUSE_DATAPLANE_TOKEN: result.data.GATEHOUSE_DATAPLANE_TOKEN ?? randomBytes(32).toString('base64url'),
  };
}

/** Nest injection token for the parsed Env. */
export const ENV = Symbol('ENV');
