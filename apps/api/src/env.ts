// The control plane's environment (DESIGN.md §3), parsed once at boot. Nothing else reads process.env: the parsed
// value is provided to Nest as ENV and passed explicitly everywhere else.
import { randomBytes } from 'node:crypto';
import { compileOutboundRules, defaultUpstreamAllow, redisPrefixSchema, splitOutboundList } from '@gatehouse/contracts';
import { EnvironmentError } from '@gatehouse/runtime';
import { z } from 'zod';
import { commonPasswordProblem } from './auth/password-policy';
import { type IpCategorySource, parseIpCategorySources } from './ip-categories/ip-category-refresh';
import { isCidrOrAddress } from './traffic-policy/policy-engine';
import { parseSecretsKey } from './vaults/secrets-cipher';

const postgresUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
  .describe('Postgres connection string');
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });
const port = z.coerce.number().int().min(0).max(65_535);

/** GATEHOUSE_UPSTREAM_ALLOW / _DENY (contracts outbound-rules): range names, IPs/CIDRs and host names. */
const outboundList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform(splitOutboundList)
    .superRefine((entries, context) => {
      const compiled = compileOutboundRules(entries, []);
      if (!compiled.ok) context.addIssue({ code: 'custom', message: compiled.problems.join('; ') });
    });

export const EnvSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  /**
   * How long opening a Postgres connection, or waiting for a free one in the pool, may take before the request is
   * answered 503 SERVICE_UNAVAILABLE.
   */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(3_000),
  /** Longest a statement may run: Postgres cancels it (statement_timeout) and the client stops waiting 1 s later. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** Connections per API or worker process. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).default(10),
  REDIS_URL: redisUrl.optional(),
  /** Keeps this installation's channels, queues and counters apart from others on the same Redis (contracts/redis-names). */
  GATEHOUSE_REDIS_PREFIX: redisPrefixSchema.optional(),
  API_PORT: port.default(4000),
  GATEHOUSE_DATAPLANE_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * 32 bytes (base64, base64url or 64 hex digits) sealing vault secrets at rest. Required by the distributed control
   * plane and worker; the embedded shape generates one into GATEHOUSE_DATA_DIR (mode 0600) when unset.
   */
  GATEHOUSE_SECRETS_KEY: z
    .string()
    .refine(
      (text) => parseSecretsKey(text) !== undefined,
      'must be 32 bytes as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)',
    )
    .transform((text) => parseSecretsKey(text)!)
    .optional(),
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
  /** Where upstreams and JWKS URLs may point besides public addresses; the data planes enforce the same at dial time. */
  GATEHOUSE_UPSTREAM_ALLOW: outboundList(defaultUpstreamAllow.join(',')),
  GATEHOUSE_UPSTREAM_DENY: outboundList(''),
  /**
   * The data planes' traffic and admin ports: an upstream on this machine at one of them (or at API_PORT) is refused
   * as UPSTREAM_IS_GATEWAY when saved. The embedded shape adds its data plane's bound ports itself.
   */
  GATEHOUSE_GATEWAY_PORTS: z
    .string()
    .default('8080,8081')
    .transform(splitOutboundList)
    .pipe(
      z.array(
        z
          .string()
          .regex(/^\d{1,5}$/, 'must be comma-separated port numbers')
          .transform(Number),
      ),
    )
    .refine((ports) => ports.every((port) => port >= 1 && port <= 65_535), 'ports are 1–65535'),
  /** This gateway's public host names (e.g. its load balancer's): an upstream there is a loop. */
  GATEHOUSE_GATEWAY_HOSTS: z
    .string()
    .default('')
    .transform((text) => splitOutboundList(text).map((name) => name.toLowerCase())),
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
  /**
   * Built-in IP categories refreshed from published lists: comma-separated `category=location`, a location being an
   * https URL (http only with GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP=true) or a file, e.g.
   * `com.openai.chatgpt.connectors=https://openai.com/chatgpt-connectors.json`. Unset: no refresh.
   */
  GATEHOUSE_IP_CATEGORY_SOURCES: z.string().default(''),
  GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /** How often the sources are fetched again (a failed fetch keeps the last good list until the next one). */
  GATEHOUSE_IP_CATEGORY_REFRESH_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
});

export type EnvInput = z.input<typeof EnvSchema>;
export type Env = Omit<z.output<typeof EnvSchema>, 'GATEHOUSE_IP_CATEGORY_SOURCES'> & {
  /** Parsed from the comma-separated variable. */
  GATEHOUSE_IP_CATEGORY_SOURCES: IpCategorySource[];
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
  const sources = parseIpCategorySources(
    result.data.GATEHOUSE_IP_CATEGORY_SOURCES,
    result.data.GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP,
  );
  problems.push(...sources.problems.map((problem) => `GATEHOUSE_IP_CATEGORY_SOURCES: ${problem}`));
  if (problems.length > 0) throw new EnvError(problems);
  return {
    ...result.data,
    GATEHOUSE_IP_CATEGORY_SOURCES: sources.sources,
    GATEHOUSE_DATAPLANE_TOKEN: result.data.GATEHOUSE_DATAPLANE_TOKEN ?? randomBytes(32).toString('base64url'),
  };
}

/** The distributed shape's processes refuse to start without a secrets key (the embedded one generates it). */
export function requireSecretsKey(env: Env): Env {
  if (env.GATEHOUSE_SECRETS_KEY === undefined) {
    throw new EnvError([
      'GATEHOUSE_SECRETS_KEY: required — 32 bytes as base64 or hex that seal vault secrets at rest (generate one with `openssl rand -base64 32` and keep it: secrets cannot be read without it)',
    ]);
  }
  return env;
}

/** Nest injection token for the parsed Env. */
export const ENV = Symbol('ENV');
