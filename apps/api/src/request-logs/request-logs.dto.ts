import type { RequestAiGateway } from '@gatehouse/contracts';
import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../common/pagination';
import { parseClientIpFilter } from '../traffic-policy/policy-engine';

const Timestamp = z.iso.datetime({ offset: true });

/** The filters of DESIGN.md §5, shared by the list and the live tail. */
export const RequestLogFiltersQuerySchema = z.object({
  endpoint_id: z.string().min(1).max(255).optional().meta({ description: 'The endpoint that received the request' }),
  status: z
    .string()
    .regex(/^([1-9][0-9][0-9]|[1-9]xx)$/i, 'an HTTP status (404) or a class (4xx)')
    .optional()
    .meta({ description: 'Exact status (`404`) or class (`4xx`)', example: '4xx' }),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,32}$/, 'an HTTP method')
    .optional(),
  client_ip: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .refine(
      (text) => parseClientIpFilter(text) !== undefined,
      'an IP address (160.79.104.10), a CIDR (160.79.104.0/21, 2607:6bc0::/48) or the leading octets of an IPv4 address (160.79)',
    )
    .optional()
    .meta({
      description:
        'The client address: an exact address, a CIDR, or the leading octets of an IPv4 address (`160.79` = 160.79.0.0/16)',
      example: '160.79.104.0/21',
    }),
  action: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: 'The deciding action (`deny`, `rate-limit`, `forward-internal`, …)' }),
  from: Timestamp.optional().meta({ description: 'Inclusive lower bound of the request time (RFC 3339)' }),
  to: Timestamp.optional().meta({ description: 'Exclusive upper bound of the request time (RFC 3339)' }),
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'Case-insensitive substring of the path, the host, the MCP method (`tools/call`) or tool' }),
  tool: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .meta({ description: 'Exact MCP tool (or resource/prompt) name of the request', example: 'search' }),
  shadow: z.enum(['differs']).optional().meta({
    description: "`differs`: only requests on which the endpoint's shadow policy would have decided differently",
  }),
  caller: z.string().min(1).max(1024).optional().meta({
    description:
      'Exact caller identifier: a JWT `sub` or `client_id`, a basic-auth user, or a rate-limit credential fingerprint (`sha256:…`)',
    example: 'user-42',
  }),
});
export type RequestLogFiltersQuery = z.output<typeof RequestLogFiltersQuerySchema>;

export const ListRequestLogsQuerySchema = RequestLogFiltersQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  before: z
    .string()
    .min(1)
    .max(400)
    .optional()
    .meta({ description: 'Opaque cursor from next_page_uri: the page continues with older requests' }),
});
export type ListRequestLogsQuery = z.output<typeof ListRequestLogsQuerySchema>;

export const StreamRequestLogsQuerySchema = RequestLogFiltersQuerySchema.extend({
  last_event_id: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .meta({ description: 'Same as the Last-Event-ID header (for clients that cannot set headers)' }),
});
export type StreamRequestLogsQuery = z.output<typeof StreamRequestLogsQuerySchema>;

const PhaseSchema = z.enum(['on_tcp_connect', 'on_http_request', 'on_http_response']);

export const RequestDecisionResponseSchema = z
  .object({
    phase: PhaseSchema,
    rule_index: z.number().int(),
    rule_name: z.string().nullable(),
    action: z.string(),
  })
  .meta({ id: 'RequestDecision' });

/** Who called: verified identities only, never a secret (see the request-event contract). */
/**
 * `ai_gateway` as stored: @gatehouse/contracts' requestAiGatewaySchema validated it at ingestion; this is its output
 * side for OpenAPI (the contract's text caps are transforms, which JSON Schema cannot show).
 */
export const RequestAiGatewayResponseSchema = z
  .object({
    format: z.enum(['openai', 'anthropic']),
    status: z.enum(['success', 'error']),
    error_code: z.string().nullable(),
    requested_model: z.string().nullable(),
    provider: z.string().nullable().meta({ description: 'The provider that answered' }),
    model: z.string().nullable().meta({ description: 'The model that answered' }),
    attempts: z.array(
      z.object({
        provider: z.string(),
        model: z.string(),
        api_key: z.string().meta({ description: '`sha256:` + 16 hex of the provider key, or `passthrough`' }),
        status: z.enum(['success', 'error']),
        status_code: z.number().int().meta({ description: "The provider's status; 0 when it never answered" }),
        error: z.string().nullable(),
        duration_ms: z.number(),
      }),
    ),
    input_tokens_estimated: z.number().int(),
    input_tokens: z.number().int().nullable(),
    output_tokens: z.number().int().nullable(),
    cost_usd: z.number().nullable().meta({ description: 'Estimate from the model catalog or the policy' }),
    client_key_hash: z.string().nullable(),
    streamed: z.boolean(),
  })
  .meta({ id: 'RequestAiGateway' }) satisfies z.ZodType<RequestAiGateway>;

export const RequestCallerResponseSchema = z
  .object({
    subject: z.string().nullable().meta({ description: '`sub` of the JWT jwt-validation verified' }),
    client_id: z.string().nullable().meta({ description: '`client_id` (else `azp`) of the verified JWT' }),
    issuer: z.string().nullable().meta({ description: '`iss` of the verified JWT' }),
    basic_auth_user: z.string().nullable().meta({ description: 'The user basic-auth authorized' }),
    credential_fingerprint: z
      .string()
      .nullable()
      .meta({ description: 'Truncated SHA-256 of the rate-limit bucket key (`sha256:` + 16 hex digits)' }),
  })
  .meta({ id: 'RequestCaller' });

export const RequestLogSummarySchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    /** The live tail's event id: monotonic in insertion order. */
    seq: z.number().int(),
    timestamp: Timestamp,
    endpoint_id: z.string().nullable(),
    endpoint_url: z.string().nullable(),
    policy_version: z.number().int().nullable(),
    method: z.string(),
    host: z.string(),
    path: z.string(),
    query: z.string(),
    status: z.number().int(),
    duration_ms: z.number(),
    upstream_duration_ms: z.number().nullable(),
    bytes_in: z.number().int(),
    bytes_out: z.number().int(),
    client_ip: z.string(),
    client_ip_categories: z.array(z.string()),
    user_agent: z.string().nullable(),
    forwarded_to: z.string().nullable(),
    decision: RequestDecisionResponseSchema.nullable(),
    rules_matched: z.array(
      z.object({
        phase: PhaseSchema,
        rule_index: z.number().int(),
        rule_name: z.string().nullable(),
        endpoint_id: z.string(),
      }),
    ),
    error_code: z.string().nullable(),
    logs: z.array(z.record(z.string(), z.unknown())),
    mcp: z
      .object({
        method: z.string(),
        tool: z.string(),
        protocol_version: z.string(),
        /** request | notification | response | batch (a batch lists its elements' methods and tools comma-separated). */
        kind: z.enum(['request', 'notification', 'response', 'batch']).optional(),
        session_id: z.string().optional(),
      })
      .nullable(),
    caller: RequestCallerResponseSchema.nullable(),
    trace_id: z.string().nullable(),
    /** The ai-gateway action's provider, model, attempts, tokens and cost; null when it did not run. */
    ai_gateway: RequestAiGatewayResponseSchema.nullable(),
    /** What the shadow policy would have done; null when the endpoint had no shadow. */
    shadow: z
      .object({
        sha256: z.string(),
        outcome: z.enum(['respond', 'forward', 'close', 'continue']),
        status: z.number().int().nullable(),
        forwarded_to: z.string().nullable(),
        decision: RequestDecisionResponseSchema.nullable(),
        differs: z.boolean(),
        /** The shadow's on_http_response on the live upstream answer; null when it did not run (or from older data planes). */
        response: z
          .object({
            outcome: z.enum(['respond', 'continue']),
            status: z.number().int(),
            decision: RequestDecisionResponseSchema.nullable(),
            differs: z.boolean(),
          })
          .nullable()
          .optional(),
      })
      .nullable()
      // Optional only so live-tail messages and fixtures from before the field still parse; answers always carry it.
      .optional()
      .meta({ id: 'RequestShadow' }),
  })
  .meta({ id: 'RequestLogSummary' });
export type RequestLogSummary = z.infer<typeof RequestLogSummarySchema>;

export const RuleTraceResponseSchema = z
  .object({
    endpoint_id: z.string(),
    phase: PhaseSchema,
    rule_index: z.number().int(),
    rule_name: z.string().nullable(),
    matched: z.boolean(),
    error: z.string().optional(),
    actions: z.array(
      z.object({
        type: z.string(),
        result: z.enum(['continued', 'responded', 'forwarded', 'closed']),
        detail: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'RuleTrace' });

const HeadersSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())])).nullable();

export const RequestLogResponseSchema = RequestLogSummarySchema.extend({
  /** The policy version that decided, e.g. /api/endpoints/ep_…/policy-versions/3; null without endpoint or policy. */
  policy_version_uri: z.string().nullable(),
  endpoint_uri: z.string().nullable(),
  /** Every rule evaluated (matched or not), with each action run and its result, per endpoint on the path. */
  trace: z.array(RuleTraceResponseSchema),
  runtime_errors: z.array(z.object({ expression: z.string(), message: z.string() })),
  /** Only when the endpoint opts in; Authorization, Cookie and similar are never stored. */
  request_headers: HeadersSchema,
  response_headers: HeadersSchema,
  request_body: z.string().nullable(),
  response_body: z.string().nullable(),
}).meta({ id: 'RequestLog' });
export type RequestLogResponse = z.infer<typeof RequestLogResponseSchema>;

export const RequestLogListResponseSchema = z
  .object({ request_logs: z.array(RequestLogSummarySchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'RequestLogList' });
export type RequestLogListResponse = z.infer<typeof RequestLogListResponseSchema>;

/** What the worker publishes on the tail channel: every row with after_seq < seq ≤ last_seq, already presented. */
export const RequestLogTailMessageSchema = z.object({
  after_seq: z.number().int().min(0),
  last_seq: z.number().int().min(0),
  request_logs: z.array(RequestLogSummarySchema),
});
export type RequestLogTailMessage = z.infer<typeof RequestLogTailMessageSchema>;
