import { compileCidrSet } from '@gatehouse/traffic-policy';
import { compileOutboundRules, defaultUpstreamAllow, redisPrefixSchema, splitOutboundList } from '@gatehouse/contracts';
import { EnvironmentError } from '@gatehouse/runtime';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * The data plane's environment (DESIGN.md §3), parsed once at boot. Nothing else in the data plane reads
 * `process.env`: `dataplaneOptionsFromEnv` turns this into `DataplaneOptions`. A bad value fails the boot with every problem listed.
 */

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const positiveInt = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const trustedProxies = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .superRefine((cidrs, context) => {
    const invalid = compileCidrSet(cidrs).invalid;
    if (invalid.length > 0)
      context.addIssue({
        code: 'custom',
        message: `not CIDRs: ${invalid.join(', ')} (write e.g. 10.0.0.0/8, 127.0.0.1/32)`,
      });
  });

/** GATEHOUSE_UPSTREAM_ALLOW / _DENY: comma-separated range names, IPs/CIDRs and host names (contracts outbound-rules). */
const outboundList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform(splitOutboundList)
    .superRefine((entries, context) => {
      const compiled = compileOutboundRules(entries, []);
      if (!compiled.ok) context.addIssue({ code: 'custom', message: compiled.problems.join('; ') });
    });

const hostNames = z
  .string()
  .default('')
  .transform((text) => splitOutboundList(text).map((name) => name.toLowerCase()));

const url = (fallback: string | undefined) =>
  (fallback === undefined ? z.string() : z.string().default(fallback)).refine((text) => {
    try {
      const parsed = new URL(text);
      return (
        parsed.protocol === 'http:' ||
        parsed.protocol === 'https:' ||
        parsed.protocol === 'redis:' ||
        parsed.protocol === 'rediss:'
      );
    } catch {
      return false;
    }
  }, 'must be a URL');

export const dataplaneEnvSchema = z.object({
  DATAPLANE_PORT: port(8080),
  /** Interface the traffic port binds to. */
  DATAPLANE_HOST: z.string().min(1).default('0.0.0.0'),
  DATAPLANE_ADMIN_PORT: port(8081),
  /**
   * Interface the admin port (/status, /metrics: endpoint counts, ids and errors) binds to: loopback unless an operator
   * opens it, e.g. in a container whose published port is mapped to the host (docker-compose.yml sets 0.0.0.0).
   */
  DATAPLANE_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  DATAPLANE_TLS_CERT: optionalText.describe(
    'PEM certificate file; with DATAPLANE_TLS_KEY the traffic port speaks HTTPS.',
  ),
  DATAPLANE_TLS_KEY: optionalText,
  DATAPLANE_TLS_CLIENT_CA: optionalText.describe(
    'PEM file of CA certificates for mutual TLS (needs DATAPLANE_TLS_CERT): clients must present a certificate they issued or the handshake is refused; policies read it as conn.tls.client.*.',
  ),
  DATAPLANE_PUBLIC_URL: optionalText
    .pipe(
      z
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
        .max(2048)
        .optional(),
    )
    .describe(
      'The address clients send traffic to when the data plane sits behind a load balancer or NAT (e.g. https://gw.example.com); reported in heartbeats. Unset: scheme://host:DATAPLANE_PORT from this machine.',
    ),
  DATAPLANE_ID: optionalText.describe('Stable id reported in heartbeats; default hostname:port.'),
  DATAPLANE_IDLE_TIMEOUT_MS: positiveInt(300_000, 86_400_000),
  DATAPLANE_UPSTREAM_MAX_CONNECTIONS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .describe(
      'Most connections to one upstream origin; 0 (default) sets no cap. Requests beyond a cap wait for a free connection, and an open SSE stream holds its connection as long as it is open.',
    ),
  DATAPLANE_WORKERS: optionalText
    .pipe(z.coerce.number<string | undefined>().int().min(1).max(256).optional())
    .transform((workers) => workers ?? availableParallelism())
    .describe(
      'Worker processes (node:cluster) behind one primary that owns the ports; default: the available cores. 1 runs a single process with no primary (no SIGHUP rolling restart).',
    ),
  DATAPLANE_COMPILED_POLICIES: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(2_000)
    .describe(
      'Compiled policies kept in memory per worker (least recently used go first); the others are kept as text and compile on their next request (about 0.3 ms for a walkthrough-size policy). A compiled walkthrough-size policy takes about 5.5 KB; set it above the number of endpoints with traffic.',
    ),
  DATAPLANE_STREAM_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(2_000)
    .describe(
      'On a drain, how long SSE responses and WebSocket connections keep flowing before they are ended cleanly (SSE end, WebSocket close 1001).',
    ),
  DATAPLANE_ADMISSIONS_PER_TURN: z.coerce
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(8)
    .describe(
      'Requests started per event-loop turn; the rest of a burst waits for the next turns, in arrival order, so what the first requests send (through an agent tunnel, which writes once per turn) leaves while the next are admitted. 0: no limit.',
    ),
  DATAPLANE_HEARTBEAT_INTERVAL_MS: optionalText
    .pipe(z.coerce.number<string | undefined>().int().min(1).max(3_600_000).optional())
    .describe("Fixed heartbeat spacing; unset follows the API's heartbeat_interval_seconds."),
  DATAPLANE_MAX_BODY_BYTES: positiveInt(1024 * 1024, 64 * 1024 * 1024),
  /** The most of a JSON request body read to check it for MCP (JSON-RPC) messages; larger ones answer 413. */
  DATAPLANE_MCP_MAX_BODY_BYTES: positiveInt(4 * 1024 * 1024, 256 * 1024 * 1024),
  DATAPLANE_RATE_LIMIT_TIMEOUT_MS: positiveInt(100, 10_000),
  GATEHOUSE_API_URL: url('http://127.0.0.1:4000'),
  GATEHOUSE_DATAPLANE_TOKEN: z
    .string({ error: 'is required: the shared secret the API expects from data planes' })
    .min(1, 'is required: the shared secret the API expects from data planes'),
  REDIS_URL: optionalText.pipe(z.url().optional()),
  GATEHOUSE_REDIS_PREFIX: optionalText
    .pipe(redisPrefixSchema.optional())
    .describe("This installation's namespace in a shared Redis; the same value as the API's and the worker's."),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./.gatehouse'),
  DATAPLANE_EVENT_SPILL_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe(
      'Bound of the file under GATEHOUSE_DATA_DIR that keeps request events Redis could not take (shutdown, full buffer); 0 turns spilling off.',
    ),
  DATAPLANE_EVENT_QUEUE_MAX_BATCHES: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000_000)
    .default(1_000)
    .describe(
      "Most request-log batches (≤ 500 events each) that may wait in Redis, every data plane's together, before a data plane keeps its events itself (memory, then the spill file): a stopped API worker must not fill the Redis that rate limits depend on. 0: no bound.",
    ),
  GATEHOUSE_TRUSTED_PROXIES: trustedProxies,
  GATEHOUSE_GEOIP_DB: optionalText.describe(
    'MMDB file behind conn.geo.* (MaxMind GeoLite2/GeoIP2 City or Country, DB-IP or ip-location-db layouts). Unset: the bundled country database (CC0, country only); `off`: no geo data.',
  ),
  GATEHOUSE_ASN_DB: optionalText.describe(
    'MMDB file behind conn.client_ip.as.* (GeoLite2-ASN or ip-location-db asn). Unset: AS fields read 0 and empty.',
  ),
  GATEHOUSE_GEOIP_REFRESH_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(300)
    .describe('How often the geo/ASN files are checked for a change and reopened (0: loaded once at boot).'),
  GATEHOUSE_SERVER_REGION: optionalText
    .pipe(z.string().max(64).optional())
    .describe("conn.server_region: this data plane's region as policies compare it (e.g. eu, us-east). Unset: ''."),
  GATEHOUSE_UPSTREAM_ALLOW: outboundList(defaultUpstreamAllow.join(',')).describe(
    'Where upstreams and JWKS URLs may connect besides public addresses: loopback, private, link-local, metadata, CIDRs, host names.',
  ),
  GATEHOUSE_UPSTREAM_DENY: outboundList('').describe(
    'Refused even when allowed above (CIDRs, host names, range names).',
  ),
  GATEHOUSE_SNS_CERT_HOSTS: hostNames.describe(
    "verify-webhook sns: further host or host:port names whose SigningCertURL is fetched (default: only AWS's sns.<region>.amazonaws.com over https).",
  ),
  GATEHOUSE_GATEWAY_HOSTS: hostNames.describe(
    "This gateway's public host names (e.g. its load balancer's): an upstream there is a forwarding loop.",
  ),
  DATAPLANE_MAX_PROXY_HOPS: positiveInt(10, 1_000).describe(
    'A request arriving with this many CDN-Loop entries or more is refused (508 LOOP_DETECTED).',
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type DataplaneEnv = z.infer<typeof dataplaneEnvSchema>;

export class EnvError extends EnvironmentError {
  constructor(problems: readonly string[]) {
    super(problems, 'Invalid data plane environment');
    this.name = 'EnvError';
  }
}

/** Parses the environment; throws EnvError listing every bad variable (never only the first). */
export function parseDataplaneEnv(source: Record<string, string | undefined>): DataplaneEnv {
  const result = dataplaneEnvSchema.safeParse(source);
  // Checked outside the schema so it is reported together with field problems (zod skips object refinements then).
  const crossField: string[] = [];
  if (isSet(source.DATAPLANE_TLS_CERT) !== isSet(source.DATAPLANE_TLS_KEY)) {
    crossField.push('DATAPLANE_TLS_CERT / DATAPLANE_TLS_KEY: set both (HTTPS) or neither (HTTP)');
  }
  if (isSet(source.DATAPLANE_TLS_CLIENT_CA) && !isSet(source.DATAPLANE_TLS_CERT)) {
    crossField.push('DATAPLANE_TLS_CLIENT_CA: needs DATAPLANE_TLS_CERT / DATAPLANE_TLS_KEY (mutual TLS is HTTPS)');
  }
  if (result.success && crossField.length === 0) return result.data;
  const problems = (result.success ? [] : result.error.issues).map((issue) => {
    const name = issue.path.map(String).join('.') || 'environment';
    const value = typeof issue.path[0] === 'string' ? source[issue.path[0]] : undefined;
    // Secrets are never echoed back.
    const shown = value === undefined || /TOKEN|KEY|PASSWORD/.test(name) ? '' : ` (got "${value}")`;
    return `${name}: ${issue.message}${shown}`;
  });
  throw new EnvError([...problems, ...crossField]);
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}
