// The config propagation protocol between the control plane and data planes (DESIGN.md §6): the config snapshot,
// change events (pub/sub on `gatehouse:config` and GET /api/dataplane/config/changes) and heartbeats. Both sides parse
// with these schemas, so a change to the wire format is a compile error in both apps. Field names are snake_case like
// the rest of the API. Revisions are JSON numbers (safe integers); they are global, monotonic and gap-free in commit
// order. Data planes authenticate with `Authorization: Bearer <GATEHOUSE_DATAPLANE_TOKEN>`.
import { z } from 'zod';
import { AgentDataplaneSchema, SyncAgentEndpointSchema } from './agent-tunnel.js';
import { allEndpointTypes } from './endpoint-url.js';
import { MAX_RULE_COUNTERS_PER_HEARTBEAT, RuleCounterDeltaSchema } from './rule-counters.js';

/** Redis pub/sub channel carrying ConfigChangeEvent JSON. */
export const CONFIG_CHANNEL = 'gatehouse:config';

/** The data-plane routes (all take `Authorization: Bearer <GATEHOUSE_DATAPLANE_TOKEN>`). */
export const DATAPLANE_ROUTES = {
  /** GET → ConfigSnapshot; send If-None-Match with the last ETag (`"rev-<revision>"`) to get 304 when current. */
  config: '/api/dataplane/config',
  /** GET ?since=<applied revision>&limit= → ConfigChangesResponse; 410 CONFIG_REVISION_GONE → fetch the snapshot. */
  changes: '/api/dataplane/config/changes',
  /** POST HeartbeatRequest → HeartbeatResponse. */
  heartbeat: '/api/dataplane/heartbeat',
  /** POST AgentSessionRegisterRequest → AgentSessionRegistration (agent-tunnel.ts). */
  agentSessions: '/api/dataplane/agent-sessions',
  /** POST AgentSessionLeaveRequest → 204. */
  agentSessionLeave: '/api/dataplane/agent-sessions/leave',
} as const;

/**
 * A secret a policy names (`secrets.get('vault', 'name')`), sealed for data planes (@gatehouse/runtime
 * dataplane-secrets: AES-256-GCM under a key derived from GATEHOUSE_DATAPLANE_TOKEN, vault and name bound).
 */
export const SyncSecretSchema = z
  .object({ vault: z.string(), name: z.string(), sealed: z.string() })
  .meta({ id: 'SyncSecret' });
export type SyncSecret = z.infer<typeof SyncSecretSchema>;

export const SyncPolicySchema = z
  .object({
    version: z.number().int().min(1),
    sha256: z.string().length(64),
    /** The policy text exactly as submitted (YAML or JSON). */
    source: z.string(),
    /**
     * The current values of the secrets the policy names, sealed; added by the API when it serves the snapshot or the
     * change listing (never in the outbox or on pub/sub). A rotated secret re-publishes the endpoints that name it.
     */
    secrets: z.array(SyncSecretSchema).optional(),
  })
  .meta({ id: 'SyncPolicy' });
export type SyncPolicy = z.infer<typeof SyncPolicySchema>;

/**
 * What a data plane copies into the request log for requests this endpoint receives, besides the always-logged
 * fields (DESIGN.md §7). Secret headers (Authorization, Cookie, …) are removed whatever this says.
 */
export const RequestLogCaptureSchema = z
  .object({
    /** Request and response header values. */
    headers: z.boolean(),
    /** A bounded text prefix of the request and response bodies. */
    bodies: z.boolean(),
  })
  .meta({ id: 'RequestLogCapture' });
export type RequestLogCapture = z.infer<typeof RequestLogCaptureSchema>;

export const requestLogCaptureOff: RequestLogCapture = Object.freeze({ headers: false, bodies: false });

/**
 * A shadow policy (issue 17 item 3): data planes evaluate it beside the active policy on live traffic, enforce nothing,
 * and report in each request event whether it would have decided differently. Its side calls run on ports isolated
 * from the live ones. It is a candidate, not a version: promoting it saves it as the next version.
 */
export const SyncShadowPolicySchema = z
  .object({
    sha256: z.string().length(64),
    source: z.string(),
  })
  .meta({ id: 'SyncShadowPolicy' });
export type SyncShadowPolicy = z.infer<typeof SyncShadowPolicySchema>;

export const SyncEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    type: z.enum(allEndpointTypes),
    proto: z.enum(['http', 'https']),
    /** Lower-case host without port; data planes route on it. */
    host: z.string(),
    port: z.number().int(),
    upstream_url: z.string().nullable(),
    upstream_host_header: z.enum(['preserve', 'rewrite']),
    /**
     * The active policy. `null` is the explicit "no policy" state (internal endpoints only) — unless
     * `policy_rejected` is set. A policy is never absent by being empty: a data plane rejects an empty `source`, and
     * one whose `sha256` does not name its `source`, like a policy that does not compile.
     */
    policy: SyncPolicySchema.nullable(),
    /**
     * Set when the control plane found the endpoint's stored active policy invalid while publishing it (a row that
     * bypassed the API's validation at save): `policy` is then null and data planes keep running the policy they
     * have for this endpoint, or do not serve it when they have none, and report it. Null otherwise. Defaults to
     * null for last-known-good files and outbox rows written before the field existed.
     */
    policy_rejected: z
      .object({ version: z.number().int().min(1), reason: z.string() })
      .nullable()
      .default(null),
    /**
     * Defaults to capturing nothing: last-known-good files and outbox rows written before the setting existed lack it.
     */
    request_log_capture: RequestLogCaptureSchema.default(requestLogCaptureOff),
    /** For `type: agent`: the sessions serving it; null for every other type (and for files older than the field). */
    agent: SyncAgentEndpointSchema.nullable().default(null),
    /** The shadow policy, or null; absent from files and outbox rows older than the field. */
    shadow_policy: SyncShadowPolicySchema.nullable().default(null),
  })
  .meta({ id: 'SyncEndpoint' });
export type SyncEndpoint = z.infer<typeof SyncEndpointSchema>;

export const SyncIpCategorySchema = z
  .object({
    name: z.string(),
    cidrs: z.array(z.string()),
    description: z.string(),
    builtin: z.boolean(),
  })
  .meta({ id: 'SyncIpCategory' });
export type SyncIpCategory = z.infer<typeof SyncIpCategorySchema>;

/** GET /api/dataplane/config. The ETag header is `"rev-<revision>"`. */
export const ConfigSnapshotSchema = z
  .object({
    revision: z.number().int().min(0),
    generated_at: z.iso.datetime({ offset: true }),
    endpoints: z.array(SyncEndpointSchema),
    ip_categories: z.array(SyncIpCategorySchema),
  })
  .meta({ id: 'ConfigSnapshot' });
export type ConfigSnapshot = z.infer<typeof ConfigSnapshotSchema>;

export const ConfigChangeKindSchema = z.enum([
  /** The endpoint was created or changed (including a new active policy); `endpoint` holds its new state. */
  'endpoint.upserted',
  /** The endpoint was deleted; `endpoint` is null. */
  'endpoint.deleted',
  /** The category was created or changed; `ip_category` holds its new state. */
  'ip_category.upserted',
  /** The category was deleted; `ip_category` is null. */
  'ip_category.deleted',
  /**
   * An agent session ended (revoked authtoken, or no data plane held it for the grace period): every data plane
   * closes its connections of that session at once. `entity_id` is the session id; both payloads are null.
   */
  'agent_session.ended',
]);
export type ConfigChangeKind = z.infer<typeof ConfigChangeKindSchema>;

/** What the outbox row stores and the event carries besides revision/kind/entity id. */
export const ConfigChangePayloadSchema = z.object({
  endpoint: SyncEndpointSchema.nullable(),
  ip_category: SyncIpCategorySchema.nullable(),
});
export type ConfigChangePayload = z.infer<typeof ConfigChangePayloadSchema>;

/** One change, as published on CONFIG_CHANNEL and listed by GET /api/dataplane/config/changes. */
export const ConfigChangeEventSchema = z
  .object({
    revision: z.number().int().min(1),
    kind: ConfigChangeKindSchema,
    /** Endpoint id or IP category name. */
    entity_id: z.string(),
    endpoint: SyncEndpointSchema.nullable(),
    ip_category: SyncIpCategorySchema.nullable(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'ConfigChangeEvent' });
export type ConfigChangeEvent = z.infer<typeof ConfigChangeEventSchema>;

/** GET /api/dataplane/config/changes?since=REV: every change after REV, oldest first (410 when REV was pruned). */
export const ConfigChangesResponseSchema = z
  .object({
    /** The latest revision at the time of the answer. */
    revision: z.number().int().min(0),
    changes: z.array(ConfigChangeEventSchema),
    /** True when more changes exist after the last one returned: ask again with since = its revision. */
    has_more: z.boolean(),
  })
  .meta({ id: 'ConfigChangesResponse' });
export type ConfigChangesResponse = z.infer<typeof ConfigChangesResponseSchema>;

export const ConfigChangesQuerySchema = z.object({
  since: z.coerce.number().int().min(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

/**
 * Where a data plane takes traffic, as it reports it in heartbeats so screens can say where to send requests (issue
 * 19). `host` is the interface the traffic port binds to; `public_url` is DATAPLANE_PUBLIC_URL, the address clients use
 * when the data plane sits behind a load balancer or NAT (its own bind address means nothing to them then).
 */
export const DataplaneTrafficSchema = z
  .object({
    scheme: z.enum(['http', 'https']),
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65_535),
    public_url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2048)
      .optional(),
  })
  .meta({ id: 'DataplaneTraffic' });
export type DataplaneTraffic = z.infer<typeof DataplaneTrafficSchema>;

const eventCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * How a data plane's request events are getting into the request-log queue (its queue sink's own counters), as it
 * reports them in heartbeats, so the fleet view shows a data plane that is holding events back or losing them. Counters
 * run from the process's start; `buffered` and `queued_batches` are readings. Absent when the data plane has no queue
 * (the embedded shape stores events in process).
 */
export const DataplaneRequestEventsSchema = z
  .object({
    /** Waiting in the data plane's memory now (Redis down or slow, or the queue full). */
    buffered: eventCount,
    /** Lost: the memory buffer and spill file full, or undelivered at shutdown. */
    dropped: eventCount,
    /** Written to the spill file (delivered from there later). */
    spilled: eventCount,
    /** Sends Redis did not take (down, slow); the batch was kept and sent again. */
    send_failures: eventCount,
    /** Sends held back because the queue held DATAPLANE_EVENT_QUEUE_MAX_BATCHES (no worker draining it). */
    deferred_sends: eventCount,
    /** Batches waiting in the queue (every data plane's) at this data plane's last reading; null before one. */
    queued_batches: eventCount.nullable(),
  })
  .meta({ id: 'DataplaneRequestEvents' });
export type DataplaneRequestEvents = z.infer<typeof DataplaneRequestEventsSchema>;

/** Bind addresses that mean "every interface": no client can dial them, so the machine's host name stands in. */
const wildcardHosts = new Set(['0.0.0.0', '::', '[::]', '::0', '']);

/**
 * The address clients send traffic to: the public URL when set, else scheme://host:port where host is the bind host,
 * or the data plane's host name when it binds every interface. Used by the API's fleet view (one rule for every screen).
 */
export function trafficUrl(traffic: DataplaneTraffic, hostname: string): string {
  if (traffic.public_url !== undefined) return traffic.public_url;
  const host = wildcardHosts.has(traffic.host) ? hostname : traffic.host;
  // An IPv6 literal needs brackets in a URL.
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${traffic.scheme}://${shown}:${traffic.port}`;
}

/** POST /api/dataplane/heartbeat. */
export const HeartbeatRequestSchema = z
  .object({
    /** Stable id of the data plane process (chosen by it, e.g. hostname + port or a UUID kept on disk). */
    id: z.string().min(1).max(128),
    hostname: z.string().min(1).max(255),
    version: z.string().min(1).max(64),
    applied_revision: z.number().int().min(0),
    /** The last config apply/compile failure, or null when the applied config is healthy. */
    last_error: z.string().max(4096).nullable().default(null),
    /** Where this data plane takes traffic; absent from data planes older than this field (and before listening). */
    traffic: DataplaneTrafficSchema.optional(),
    /** Ids of the agent sessions this data plane holds a live connection of; absent from older data planes. */
    agent_sessions: z.array(z.string().max(64)).max(100_000).optional(),
    /** Per-rule counters since the previous answered heartbeat (rule-counters.ts); absent from older data planes. */
    rule_counters: z.array(RuleCounterDeltaSchema).max(MAX_RULE_COUNTERS_PER_HEARTBEAT).optional(),
    /** The request-event pipeline's counters; absent without a queue, and from older data planes. */
    request_events: DataplaneRequestEventsSchema.optional(),
  })
  .meta({ id: 'HeartbeatRequest' });
export type HeartbeatRequest = z.input<typeof HeartbeatRequestSchema>;

export const HeartbeatResponseSchema = z
  .object({
    /** The latest revision; when it is above applied_revision the data plane catches up. */
    revision: z.number().int().min(0),
    /** Suggested seconds until the next heartbeat. */
    heartbeat_interval_seconds: z.number().int().min(1),
    /**
     * Every live data plane's traffic address, which a data plane passes on to its agents so they connect to each
     * (agent-tunnel.ts, step 6). Absent from older control planes.
     */
    agent_dataplanes: z.array(AgentDataplaneSchema).default([]),
    /**
     * Of the `agent_sessions` the heartbeat listed, those the control plane does not have live (ended, or unknown): the
     * data plane closes their connections. The `agent_session.ended` change does this at once; this is what still
     * does it when that change was never seen (a data plane that caught up by snapshot). Absent from older control
     * planes.
     */
    ended_agent_sessions: z.array(z.string()).default([]),
  })
  .meta({ id: 'HeartbeatResponse' });
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;
