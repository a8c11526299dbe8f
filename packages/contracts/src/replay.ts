// Replay of recorded traffic (issue 17 item 2): data planes keep the decision-relevant facts of each request they
// route to an endpoint (`RecordedRequest`, shipped as the request event's `replay` field); the API keeps the newest
// `replayFactsPerEndpoint` of them per endpoint and answers "what would this draft do?" (`ReplayReport`) by running
// the engine over them. One schema per shape: validation, types, OpenAPI and the dashboard all read these.
import { z } from 'zod';
import { policyVersionMax } from './rule-counters.js';

/** How many recorded requests the API keeps per endpoint (older ones are deleted as new ones arrive). */
export const replayFactsPerEndpoint = 20_000;
/** Default and largest number of requests one replay evaluates. */
export const replayDefaultLimit = 10_000;
export const replayMaxLimit = replayFactsPerEndpoint;
/** Example request ids a diff group carries (each opens in the request log). */
export const replayExamplesPerGroup = 5;

/** At most this many header lines are recorded per request, each value cut at `recordedHeaderValueMaxLength`. */
export const recordedHeadersMax = 64;
export const recordedHeaderValueMaxLength = 1_024;

/**
 * A redacted header value (Authorization, Cookie, … and the configured extras) is recorded as this prefix and 16 hex
 * digits of a domain-separated SHA-256 of the value: equal values stay equal (so a replayed rate limit keyed on
 * the header counts the same callers), presence stays visible, the value itself never leaves the data plane.
 */
export const redactedFingerprintPrefix = 'redacted:sha256:';

const cut = (max: number) => z.string().transform((text) => (text.length > max ? text.slice(0, max) : text));

/**
 * What the geo/AS database knew about a client address (`conn.geo.*`, `conn.client_ip.as.*`, `conn.client_ip.geo.*`):
 * recorded with each request for replays, stated by a policy test case. Absent fields read as unknown ('' and 0).
 */
export const ClientGeoSchema = z
  .object({
    city: z.string().max(256).optional(),
    country: z.string().max(256).optional(),
    country_code: z.string().max(8).optional(),
    continent: z.string().max(64).optional(),
    registered_country_code: z.string().max(8).optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    radius_km: z.number().min(0).max(100_000).optional(),
    subdivision: z.string().max(256).optional(),
    as_number: z.int().min(0).max(4_294_967_295).optional(),
    as_organization: z.string().max(256).optional(),
  })
  .meta({ id: 'ClientGeo' });
export type ClientGeo = z.infer<typeof ClientGeoSchema>;

function isHeaderLine(line: unknown): line is [string, string] {
  return (
    Array.isArray(line) &&
    line.length === 2 &&
    typeof line[0] === 'string' &&
    line[0].length <= 256 &&
    typeof line[1] === 'string'
  );
}

/**
 * Header lines: every line a pair of strings (the name at most 256 characters), at most `recordedHeadersMax` of them
 * kept, each value cut at `recordedHeaderValueMaxLength`. One check and one transform over the whole array, where a
 * `z.tuple` with a cutting transform per line ran four schema nodes per line; the request-log worker validates every
 * request's lines, and clients send ten or more. Measured on the whole event (`requestEventSchema.safeParse`, the
 * bench's event with ten header lines, best of 8 × 4,000): 9.9–11.4 µs before, 7.8–8.6 µs after (issue 18). The
 * lines are checked before the list is shortened, so a malformed 70th line still fails the facts, as before.
 */
const recordedHeaderLinesSchema = z
  .custom<[string, string][]>(
    (lines) => Array.isArray(lines) && lines.every(isHeaderLine),
    'expected [name, value] pairs of strings, names at most 256 characters',
  )
  .transform((lines) => {
    const kept = lines.slice(0, recordedHeadersMax);
    for (let index = 0; index < kept.length; index++) {
      const [name, value] = kept[index]!;
      if (value.length > recordedHeaderValueMaxLength)
        kept[index] = [name, value.slice(0, recordedHeaderValueMaxLength)];
    }
    return kept;
  });

const recordedMcpMessageSchema = z.object({
  kind: z.enum(['request', 'notification', 'response', 'batch']),
  method: cut(256),
  tool: cut(1_024),
  names: z.enum(['tools', 'prompts', 'resources']).optional(),
  protocol_version: cut(64),
  session_id: cut(256),
});

/**
 * What a policy may read about one request, as the data plane saw it before any policy changed it. Not kept: bodies
 * (and so MCP tool arguments), response facts, secret values (fingerprints instead).
 */
export const RecordedRequestSchema = z
  .object({
    method: z.string().min(1).max(32),
    scheme: z.enum(['http', 'https']),
    host: cut(1_024),
    port: cut(8),
    path: cut(16_384),
    query: cut(16_384),
    http_version: cut(8).optional(),
    /** [name (lower-case), value] in arrival order; a repeated header is repeated. */
    headers: recordedHeaderLinesSchema,
    client_ip: z.string().max(64),
    client_ip_categories: z.array(z.string().max(128)).max(256),
    /** The geo/AS record of `client_ip` when the request was recorded; absent in older recordings (reads unknown). */
    client_geo: ClientGeoSchema.optional(),
    server_port: z.int().min(0).max(65_535),
    tls: z.object({ version: cut(16), cipher_suite: cut(128), sni: cut(1_024) }).nullable(),
    /** Epoch milliseconds when the connection was accepted (`conn.ts.start`). */
    connection_started_at_ms: z.number().int().min(0).optional(),
    mcp: recordedMcpMessageSchema
      .extend({ messages: z.array(recordedMcpMessageSchema).max(100).optional() })
      .nullable(),
  })
  .meta({ id: 'RecordedRequest' });
export type RecordedRequest = z.output<typeof RecordedRequestSchema>;
export type RecordedRequestInput = z.input<typeof RecordedRequestSchema>;

/** What happened to one request, recorded or replayed. */
export const ReplayOutcomeSchema = z
  .object({
    kind: z.enum(['forwarded', 'responded', 'closed']).meta({
      description: 'forwarded: went upstream (or to an internal endpoint); responded: the policy answered; closed',
    }),
    /** The answer's status when the policy responded (null when forwarded: the upstream decides, or closed). */
    status: z.int().nullable(),
    forwarded_to: z.string().nullable().meta({ description: 'The internal endpoint URL, or `upstream`' }),
    /** The rule that decided (null when no rule ended the phase). */
    rule_index: z.int().nullable(),
    rule_name: z.string().nullable(),
    phase: z.string().nullable(),
    action: z.string().nullable(),
  })
  .meta({ id: 'ReplayOutcome' });
export type ReplayOutcome = z.infer<typeof ReplayOutcomeSchema>;

export const ReplayGroupSchema = z
  .object({
    kind: z
      .enum(['flip', 'new_rate_limit', 'rate_limit_lifted', 'rule_changed', 'status_changed', 'target_changed'])
      .meta({
        description:
          'flip: forwarded ↔ answered (allow → deny or back); new_rate_limit / rate_limit_lifted: a 429 appears or ' +
          'disappears; rule_changed: the same answer by another rule; status_changed: another status; ' +
          'target_changed: forwarded elsewhere',
      }),
    summary: z.string().meta({ description: 'One line for people, e.g. "37 requests flip allow → deny (rule 2)"' }),
    count: z.int().min(1),
    from: ReplayOutcomeSchema,
    to: ReplayOutcomeSchema,
    rate_limit_key: z.string().nullable().meta({
      description: "For 429 groups: the caller's credential fingerprint (sha256:…) when the bucket key identified one",
    }),
    example_request_ids: z.array(z.string()).meta({ description: 'Request-log ids (GET /api/request-logs/{id})' }),
  })
  .meta({ id: 'ReplayGroup' });
export type ReplayGroup = z.infer<typeof ReplayGroupSchema>;

export const ReplayBaselineSchema = z
  .union([z.enum(['active', 'recorded']), z.int().min(1).max(policyVersionMax)])
  .meta({
    id: 'ReplayBaseline',
    description:
      'What the draft is compared with: `active` (the active version, replayed the same way; default), `recorded` ' +
      '(what the data plane actually did), or a version number (replayed)',
  });
export type ReplayBaseline = z.infer<typeof ReplayBaselineSchema>;

export const ReplayRequestBodySchema = z
  .strictObject({
    traffic_policy: z.string().min(1).max(1_000_000).optional().meta({ description: 'The draft policy text' }),
    version: z
      .int()
      .min(1)
      .max(policyVersionMax)
      .optional()
      .meta({ description: 'Replay a stored version instead of a draft' }),
    baseline: ReplayBaselineSchema.optional(),
    limit: z
      .int()
      .min(1)
      .max(replayMaxLimit)
      .optional()
      .meta({ description: `The newest N recorded requests (default ${replayDefaultLimit})` }),
  })
  .refine((body) => (body.traffic_policy === undefined) !== (body.version === undefined), {
    message: 'give traffic_policy (a draft) or version (a stored one), exactly one',
    path: ['traffic_policy'],
  })
  .meta({ id: 'ReplayRequestBody' });
export type ReplayRequestBody = z.infer<typeof ReplayRequestBodySchema>;

export const ReplayReportSchema = z
  .object({
    endpoint_id: z.string(),
    draft: z.object({ version: z.int().nullable(), sha256: z.string() }),
    baseline: z.object({ kind: z.enum(['active', 'recorded', 'version']), version: z.int().nullable() }),
    requests: z.int().min(0).meta({ description: 'Recorded requests replayed (oldest first)' }),
    changed: z.int().min(0),
    unchanged: z.int().min(0),
    from: z.string().nullable().meta({ description: 'Time of the oldest replayed request (RFC 3339)' }),
    to: z.string().nullable().meta({ description: 'Time of the newest replayed request (RFC 3339)' }),
    duration_ms: z.number().min(0).meta({ description: 'Time the API spent (load + evaluate + diff)' }),
    groups: z.array(ReplayGroupSchema).meta({ description: 'Largest first' }),
    notes: z.array(z.string()).meta({ description: 'What this replay could not see (bodies, secrets, responses)' }),
  })
  .meta({ id: 'ReplayReport' });
export type ReplayReport = z.infer<typeof ReplayReportSchema>;
