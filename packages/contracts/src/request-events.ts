import { z } from 'zod';
import { RecordedRequestSchema } from './replay.js';

/**
 * The request-log pipeline (DESIGN.md §7): data planes batch one event per proxied request into the BullMQ queue
 * `request-logs`; the API's worker validates every event with `requestEventSchema`, inserts it idempotently by `id`
 * and publishes what it inserted on the tail channel. Both ends parse with these schemas.
 */

/** BullMQ queue the data planes add batches to (job name `requestLogBatchJobName`, data `RequestLogBatch`). */
export const requestLogsQueueName = 'request-logs';
export const requestLogBatchJobName = 'batch';
/** Redis pub/sub channel on which the worker publishes each inserted batch (`RequestLogTailMessage`). */
export const requestLogsTailChannel = 'gatehouse:request-logs:tail';

/** A batch is flushed after this long or this many events, whichever comes first. */
export const requestLogBatchMaxWaitMs = 250;
export const requestLogBatchMaxEvents = 500;

/**
 * Header names whose values never reach storage, whatever the configuration says. Compared lower-case. The data plane
 * strips them before emitting; the worker strips them again (defense in depth).
 */
export const alwaysRedactedHeaders: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
];
export const redactedValue = '[REDACTED]';

/** Bodies are stored only when an endpoint opts in, and never more than this (in UTF-16 code units). */
export const requestLogBodyMaxLength = 16_384;

const phaseSchema = z.enum(['on_tcp_connect', 'on_http_request', 'on_http_response']);

/**
 * Over-long text and lists are cut, never rejected: a request with a 1 MB URL must still be logged (rejecting its
 * event would let a client hide from the request log).
 */
const capped = (max: number) => z.string().transform((text) => (text.length > max ? text.slice(0, max) : text));
const cappedList = <T extends z.ZodType>(item: T, max: number) =>
  z.array(item).transform((items) => (items.length > max ? items.slice(0, max) : items));
const shortText = capped(1_024);
const timestampSchema = z.iso.datetime({ offset: true });

/** The rule and action that ended the request (`forward-internal` when it went upstream). */
export const requestDecisionSchema = z.object({
  phase: phaseSchema,
  rule_index: z.int().min(0),
  rule_name: shortText.nullable(),
  action: shortText,
});

/**
 * What the endpoint's shadow policy would have done with the request (issue 17 item 3); set only while the endpoint has
 * a shadow. `differs` compares the request phase's way out with the live one's: answered with another status,
 * forwarded elsewhere, closed, or let through — not which rule decided (inserting a rule shifts the indexes).
 */
export const requestShadowSchema = z.object({
  /** sha256 of the shadow policy text (which candidate judged). */
  sha256: z.string().length(64),
  outcome: z.enum(['respond', 'forward', 'close', 'continue']),
  /** The status it would have answered (respond only). */
  status: z.int().min(0).max(999).nullable(),
  forwarded_to: capped(2_048).nullable(),
  decision: requestDecisionSchema.nullable(),
  /** True when either phase decided differently: the request phase (above) or the response phase (`response`). */
  differs: z.boolean(),
  /**
   * The shadow's on_http_response, run on the upstream's answer as the live policy received it (a copy: the client
   * gets the live answer). Null when it did not run: no response rules, or the request phase already differed (there
   * is no upstream answer the shadow's request would have got). Absent from data planes that predate it.
   */
  response: z
    .object({
      /** respond: a rule replaced the answer; continue: it would have passed the upstream's answer on. */
      outcome: z.enum(['respond', 'continue']),
      /** The status the client would have got: the replacement's, or the upstream's. */
      status: z.int().min(0).max(999),
      decision: requestDecisionSchema.nullable(),
      /** Whether that status differs from the one the live policy answered. */
      differs: z.boolean(),
    })
    .nullable()
    .default(null),
});
export type RequestShadow = z.output<typeof requestShadowSchema>;

export const ruleMatchSchema = z.object({
  phase: phaseSchema,
  rule_index: z.int().min(0),
  rule_name: shortText.nullable(),
  /** The endpoint whose policy holds the rule: the cloud endpoint, or the internal one it forwarded to. */
  endpoint_id: shortText,
});

/** One action run by a matched rule (the engine's ActionTrace). */
export const actionTraceSchema = z.object({
  type: shortText,
  result: z.enum(['continued', 'responded', 'forwarded', 'closed']),
  /** Why a check passed or failed, or what the action did (never a secret). */
  detail: capped(4_096).optional(),
});

/** One rule evaluated, matched or not (the engine's RuleTrace), tagged with the endpoint whose policy it belongs to. */
export const ruleTraceSchema = z.object({
  endpoint_id: shortText,
  phase: phaseSchema,
  rule_index: z.int().min(0),
  rule_name: shortText.nullable(),
  matched: z.boolean(),
  /** A runtime expression error (`expression: message`): the request failed closed with POLICY_RUNTIME_ERROR. */
  error: capped(4_096).optional(),
  actions: cappedList(actionTraceSchema, 256),
});

/**
 * Who made the request, as the authentication steps that ran established it — never a secret. Only verified facts
 * land here: the `sub`/`client_id` of a token jwt-validation accepted, the user basic-auth authorized, and a
 * fingerprint (a truncated, domain-separated SHA-256) of the rate-limit bucket key, which is usually the credential.
 */
export const requestCallerSchema = z.object({
  /** `sub` of the verified JWT. */
  subject: shortText.nullable().default(null),
  /** `client_id` (else `azp`) of the verified JWT: the OAuth client acting for the subject. */
  client_id: shortText.nullable().default(null),
  /** `iss` of the verified JWT. */
  issuer: shortText.nullable().default(null),
  /** The user name basic-auth authorized. */
  basic_auth_user: shortText.nullable().default(null),
  /** `sha256:` and 16 hex digits of the rate-limit bucket key; tells callers apart without storing the key. */
  credential_fingerprint: shortText.nullable().default(null),
});
export type RequestCaller = z.output<typeof requestCallerSchema>;

/** Prefix of `credential_fingerprint` values, and the domain string hashed in front of the bucket key. */
export const callerFingerprintPrefix = 'sha256:';

/**
 * The distinct identifiers of a caller, as the request-log `caller` filter matches them (any one equal to the filter
 * value): subject, client id, basic-auth user and fingerprint.
 */
export function callerIdentifiers(caller: RequestCaller | null | undefined): string[] {
  if (caller === null || caller === undefined) return [];
  const values = [caller.subject, caller.client_id, caller.basic_auth_user, caller.credential_fingerprint];
  return [...new Set(values.filter((value): value is string => value !== null && value !== ''))];
}

/** One provider attempt of the ai-gateway action. */
export const aiGatewayAttemptSchema = z.object({
  provider: shortText,
  model: shortText,
  /** `sha256:` + 16 hex of the provider key used, or `passthrough` (the client's own key was forwarded). */
  api_key: shortText,
  status: z.enum(['success', 'error']),
  /** The provider's HTTP status; 0 when it never answered (timeout, connection failure). */
  status_code: z.int().min(0).max(999),
  /** Why the attempt failed (secret-free), null when it succeeded. */
  error: capped(1_024).nullable(),
  duration_ms: z.number().min(0),
});

/**
 * What the ai-gateway action did for a request: the provider and model that answered, every attempt, token counts
 * (estimated before sending; read from the provider's answer, streamed ones too) and a cost estimate in USD.
 */
export const requestAiGatewaySchema = z.object({
  format: z.enum(['openai', 'anthropic']),
  status: z.enum(['success', 'error']),
  error_code: shortText.nullable(),
  requested_model: shortText.nullable(),
  provider: shortText.nullable(),
  model: shortText.nullable(),
  attempts: cappedList(aiGatewayAttemptSchema, 64),
  input_tokens_estimated: z.int().min(0),
  input_tokens: z.int().min(0).nullable(),
  output_tokens: z.int().min(0).nullable(),
  cost_usd: z.number().min(0).nullable(),
  /** `sha256:` + 16 hex of the client's own key (bearer token or x-api-key), for usage by key; never the key. */
  client_key_hash: shortText.nullable(),
  streamed: z.boolean(),
});
export type RequestAiGateway = z.output<typeof requestAiGatewaySchema>;

const headerValuesSchema = z.record(z.string().max(256), z.union([z.string(), z.array(z.string())]));

export const requestEventSchema = z.object({
  /** Unique per request; the worker's insert is idempotent on it (at-least-once delivery). */
  id: z.string().min(1).max(128),
  timestamp: timestampSchema,
  endpoint_id: shortText.nullable(),
  endpoint_url: capped(2_048).nullable(),
  /** The policy version of endpoint_id that handled the request. */
  policy_version: z.int().min(1).nullable(),
  method: z.string().min(1).max(32),
  host: capped(1_024),
  path: capped(16_384),
  query: capped(16_384).default(''),
  status: z.int().min(0).max(999),
  duration_ms: z.number().min(0),
  upstream_duration_ms: z.number().min(0).nullable(),
  bytes_in: z.number().int().min(0),
  bytes_out: z.number().int().min(0),
  client_ip: capped(64),
  client_ip_categories: cappedList(shortText, 256).default([]),
  user_agent: capped(4_096).nullable(),
  /** The internal endpoint URL the request was forwarded to. */
  forwarded_to: capped(2_048).nullable(),
  decision: requestDecisionSchema.nullable(),
  rules_matched: cappedList(ruleMatchSchema, 1_024).default([]),
  error_code: shortText.nullable(),
  /** Metadata of `log` actions (secret header values already replaced by the data plane). */
  logs: cappedList(z.record(z.string(), z.unknown()), 256).default([]),
  mcp: z
    .object({
      method: shortText,
      tool: shortText,
      protocol_version: shortText,
      /** request | notification | response | batch (a batch lists its elements' methods and tools comma-separated). */
      kind: z.enum(['request', 'notification', 'response', 'batch']).optional(),
      session_id: shortText.optional(),
    })
    .nullable(),
  /** Who called (null when no authentication or rate-limit step identified the caller). */
  caller: requestCallerSchema.nullable().default(null),
  trace_id: capped(128),
  /** The ai-gateway action's attempts, tokens and cost; null when it did not run. */
  ai_gateway: requestAiGatewaySchema.nullable().default(null),
  /** Expressions that failed at runtime (the request failed closed with POLICY_RUNTIME_ERROR). */
  runtime_errors: cappedList(z.object({ expression: capped(4_096), message: capped(4_096) }), 64).default([]),
  /** Every rule evaluated, for each endpoint on the path (cloud first, then the internal one), in order. */
  trace: cappedList(ruleTraceSchema, 1_024).default([]),
  shadow: requestShadowSchema.nullable().default(null),
  /** Only when the endpoint opts in; secret headers are removed. */
  request_headers: headerValuesSchema.nullable().optional(),
  response_headers: headerValuesSchema.nullable().optional(),
  /** Only when the endpoint opts in; capped at requestLogBodyMaxLength. */
  request_body: z.string().nullable().optional(),
  response_body: z.string().nullable().optional(),
  /**
   * The decision-relevant facts of the request for replaying drafts (replay.ts); absent from data planes that predate
   * it. A malformed value is dropped, never the event: the request log must not lose a row over a replay detail.
   */
  replay: RecordedRequestSchema.nullable().optional().catch(null),
});

/** What a data plane sends (defaults not applied yet). */
export type RequestEventInput = z.input<typeof requestEventSchema>;
/** An event after validation. */
export type ValidRequestEvent = z.output<typeof requestEventSchema>;
export type RuleTraceRecord = z.output<typeof ruleTraceSchema>;
export type RequestDecision = z.output<typeof requestDecisionSchema>;

/**
 * The data of one `request-logs` job. Events stay `unknown` here: the worker validates each one on its own, so one
 * malformed event is dropped (and counted) without failing the rest of the batch.
 */
export const requestLogBatchSchema = z.object({
  /** Which data plane sent it (diagnostics only). */
  source: z.string().max(256).default(''),
  sent_at: timestampSchema.optional(),
  events: z.array(z.unknown()).max(10_000),
});
export type RequestLogBatch = z.input<typeof requestLogBatchSchema>;

/**
 * Lower-cased header names that must be stripped: the always-redacted ones plus configured extras.
 */
export function redactedHeaderSet(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...alwaysRedactedHeaders, ...extra.map((name) => name.trim().toLowerCase()).filter(Boolean)]);
}

/** A copy of `headers` without the names in `redacted` (case-insensitive). */
export function withoutRedactedHeaders<T>(
  headers: Record<string, T> | null | undefined,
  redacted: ReadonlySet<string>,
): Record<string, T> | null {
  if (headers === null || headers === undefined) return null;
  const kept: Record<string, T> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!redacted.has(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}

/**
 * Replaces the values of keys named like a redacted header (anywhere in `log` metadata) with `[REDACTED]`, for metadata
 * built as `{authorization: req.headers.authorization}`.
 */
export function redactLogMetadata<T>(value: T, redacted: ReadonlySet<string>): T {
  const scrub = (inner: unknown): unknown => {
    if (Array.isArray(inner)) return inner.map(scrub);
    if (inner !== null && typeof inner === 'object') {
      return Object.fromEntries(
        Object.entries(inner).map(([key, child]) => [
          key,
          redacted.has(key.toLowerCase()) ? redactedValue : scrub(child),
        ]),
      );
    }
    return inner;
  };
  return scrub(value) as T;
}
