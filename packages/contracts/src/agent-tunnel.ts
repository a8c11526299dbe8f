// The agent protocol (issue 13, DESIGN.md §4 "Agent endpoints"): how `gatehouse-agent` dials a data plane, declares
// its endpoints, and carries requests; and how the data plane registers the session with the control plane. The
// agent, the data plane and the API all parse with these schemas, so the wire format lives once.
//
// The shape of a session, end to end:
// 1. The agent opens a TCP (or TLS) connection to a data plane's traffic port and sends
//    `GET AGENT_TUNNEL_PATH` with `Connection: Upgrade`, `Upgrade: AGENT_TUNNEL_PROTOCOL`,
//    `Authorization: Bearer <authtoken>` and the AGENT_HEADERS. An ordinary L7 load balancer passes it through like a
//    WebSocket upgrade. The data plane answers `101 Switching Protocols`, or a JSON ErrorResponse (401 for a missing
//    token; 400 for a bad header) and closes.
// 2. Over the upgraded socket the roles of HTTP/2 are reversed: the data plane is the HTTP/2 *client* and the agent the
//    HTTP/2 *server* (node:http2 on both sides; no home-made framing, real flow control and back-pressure).
// 3. The data plane asks `GET AGENT_CONTROL_PATHS.declaration` → AgentDeclaration, then registers the session with
//    the control plane (AgentSessionApi.registerAgentSession, `POST DATAPLANE_ROUTES.agentSessions` in the distributed
//    shape) and tells the agent the outcome with `POST AGENT_CONTROL_PATHS.session` ← AgentSessionRegistration. A
//    refused authtoken ends the connection after that POST (the agent prints the reason and backs off).
// 4. Traffic: every proxied request is one HTTP/2 stream from the data plane to the agent, carrying the client's
//    method, path and headers (hop-by-hop removed) plus AGENT_ENDPOINT_HEADER naming the endpoint URL, so the agent
//    knows which local upstream to dial. WebSocket upgrades use extended CONNECT (RFC 8441, `:protocol: websocket`).
// 5. The data plane pings the agent (http2 ping) every AGENT_PING_INTERVAL_MS and drops a session that has not
//    answered within AGENT_DEAD_PEER_MS; the agent does the same the other way. On disconnect the data plane calls
//    leaveAgentSession; the control plane ends the session once no data plane holds it for AGENT_SESSION_GRACE_MS.
// 6. Distributed shape: the registration lists every data plane's traffic address; the agent keeps one connection
//    to each (the same `session_key`, so they are one session), and the data plane re-sends the list with
//    `POST AGENT_CONTROL_PATHS.dataplanes` when its heartbeat learns of a new one. So every data plane serves every
//    agent endpoint without data planes dialling each other.
import { z } from 'zod';
import { ErrorDetailSchema } from './api-errors.js';

/** The `Upgrade` token of the tunnel. */
export const AGENT_TUNNEL_PROTOCOL = 'gatehouse-agent/1';

/** The request path of the upgrade on a data plane's traffic port (any Host: the Upgrade token selects it). */
export const AGENT_TUNNEL_PATH = '/_gatehouse/agent/v1/tunnel';

/** Request headers of the upgrade besides Authorization. */
export const AGENT_HEADERS = {
  /** The agent's version, e.g. `0.1.0`. */
  version: 'gatehouse-agent-version',
  /** The agent machine's host name, shown with the session. */
  hostname: 'gatehouse-agent-hostname',
  /**
   * A random id the agent process chooses once at start (22+ base64url characters). Every connection of one agent
   * process carries it, so connections to several data planes, and reconnects, are the same session.
   */
  sessionKey: 'gatehouse-agent-session-key',
} as const;

/**
 * Response header of the 101: the id of the data plane (worker) that took the connection. With DATAPLANE_WORKERS > 1
 * every worker is a data plane of its own (`<id>/worker-<n>`) behind one traffic address, and the primary hands each
 * connection to the next worker: an agent keeping one connection per listed data plane closes one that landed on a
 * data plane it already holds (before HTTP/2 starts, so nothing is registered) and dials again.
 */
export const AGENT_DATAPLANE_HEADER = 'gatehouse-dataplane-id';

/** Paths the agent's HTTP/2 server answers for the data plane; never routed to an upstream. */
export const AGENT_CONTROL_PATHS = {
  /** GET → AgentDeclaration. */
  declaration: '/_gatehouse/declaration',
  /** POST AgentSessionRegistration → 204. */
  session: '/_gatehouse/session',
  /** POST AgentDataplanes → 204: the data planes the agent should keep a connection to. */
  dataplanes: '/_gatehouse/dataplanes',
} as const;

/** On each proxied stream: the URL of the agent endpoint the request is for (the agent picks the upstream by it). */
export const AGENT_ENDPOINT_HEADER = 'gatehouse-agent-endpoint';

export const AGENT_PING_INTERVAL_MS = 5_000;

/**
 * HTTP/2 flow-control windows each end of the tunnel grants its peer (SETTINGS_INITIAL_WINDOW_SIZE per stream, and
 * the connection window raised with WINDOW_UPDATE). HTTP/2's default 64 KiB connection window is shared by every
 * request in flight over the one tunnel, so 50 concurrent answers or one large body waited on WINDOW_UPDATE round
 * trips. Back-pressure is unchanged: node:http2 grants window only as the reader consumes, so a paused stream buffers
 * at most `stream` bytes and a whole connection at most `connection` (under node's 10 MB maxSessionMemory).
 */
export const AGENT_TUNNEL_WINDOWS = { stream: 512 * 1024, connection: 4 * 1024 * 1024 } as const;
/** A peer that has not answered a ping for this long is dead (issue 13: "pings detect a dead peer within 15 s"). */
export const AGENT_DEAD_PEER_MS = 15_000;
/** How long a session with no connected data plane keeps its endpoints before they go offline (≤ 30 s in total). */
export const AGENT_SESSION_GRACE_MS = 10_000;

export const agentUpstreamProtocols = ['http1', 'http2'] as const;
export type AgentUpstreamProtocol = (typeof agentUpstreamProtocols)[number];

/** One endpoint as the agent declares it (its config's `endpoints[]`, resolved). */
export const AgentEndpointDeclarationSchema = z
  .object({
    /** The config's name for it, unique within one agent. */
    name: z.string().min(1).max(64),
    /** The endpoint URL, e.g. `https://mcp.example.internal`; `.internal` hosts are reachable only by forward-internal. */
    url: z.string().min(1).max(2048),
    /** Where the agent forwards, as an origin (`http://127.0.0.1:3333`); shown with the endpoint, never dialled by a data plane. */
    upstream: z.string().min(1).max(2048),
    upstream_protocol: z.enum(agentUpstreamProtocols).default('http1'),
    description: z.string().max(255).default(''),
    metadata: z.string().max(4096).default(''),
    pooling_enabled: z.boolean().default(false),
    /** The endpoint's Traffic Policy as YAML or JSON text, or null for none. */
    traffic_policy: z.string().max(1_000_000).nullable().default(null),
  })
  .meta({ id: 'AgentEndpointDeclaration' });
export type AgentEndpointDeclaration = z.infer<typeof AgentEndpointDeclarationSchema>;

/** GET AGENT_CONTROL_PATHS.declaration. */
export const AgentDeclarationSchema = z
  .object({
    agent_version: z.string().min(1).max(64),
    hostname: z.string().min(1).max(255),
    session_key: z.string().min(22).max(128),
    endpoints: z.array(AgentEndpointDeclarationSchema).min(1).max(100),
  })
  .meta({ id: 'AgentDeclaration' });
export type AgentDeclaration = z.infer<typeof AgentDeclarationSchema>;

/** What became of one declared endpoint. A refusal affects only that endpoint: the agent keeps the others. */
export const AgentEndpointOutcomeSchema = z
  .object({
    name: z.string(),
    url: z.string(),
    /** `online`: this session serves it (alone, or as a pool member); `refused`: see `error`. */
    status: z.enum(['online', 'refused']),
    /** The endpoint's id when online. */
    endpoint_id: z.string().nullable(),
    /**
     * Why it was refused: ENDPOINT_URL_TAKEN (claimed by a non-agent endpoint, or by a session without pooling),
     * AUTHTOKEN_URL_NOT_ALLOWED (outside the token's url_patterns), ENDPOINT_URL_INVALID, POLICY_INVALID (details
     * carry the policy issues), POOLING_MISMATCH (the pool's members disagree on pooling_enabled), POLICY_CONFLICT
     * (a pool's members must declare byte-identical traffic_policy text, or all none: a later member never replaces
     * the policy the pool enforces).
     */
    error: z
      .object({ error_code: z.string(), message: z.string(), details: z.array(ErrorDetailSchema).default([]) })
      .nullable(),
  })
  .meta({ id: 'AgentEndpointOutcome' });
export type AgentEndpointOutcome = z.infer<typeof AgentEndpointOutcomeSchema>;

/** A data plane's address for agents. */
export const AgentDataplaneSchema = z.object({ id: z.string(), url: z.string() }).meta({ id: 'AgentDataplane' });
export type AgentDataplane = z.infer<typeof AgentDataplaneSchema>;

/** POST AGENT_CONTROL_PATHS.dataplanes: every live data plane's traffic address (heartbeat within the last minute). */
export const AgentDataplanesSchema = z
  .object({ dataplanes: z.array(AgentDataplaneSchema) })
  .meta({ id: 'AgentDataplanes' });
export type AgentDataplanes = z.infer<typeof AgentDataplanesSchema>;

/** POST AGENT_CONTROL_PATHS.session, and what AgentSessionApi.registerAgentSession answers. */
export const AgentSessionRegistrationSchema = z
  .discriminatedUnion('status', [
    z.object({
      status: z.literal('accepted'),
      /** `as_` + random; the same for every connection carrying the same session_key while the session lives. */
      session_id: z.string(),
      endpoints: z.array(AgentEndpointOutcomeSchema),
      dataplanes: z.array(AgentDataplaneSchema),
    }),
    z.object({
      status: z.literal('refused'),
      /** AUTHTOKEN_INVALID (unknown or malformed), AUTHTOKEN_REVOKED, AGENT_DECLARATION_INVALID. */
      error_code: z.string(),
      message: z.string(),
    }),
  ])
  .meta({ id: 'AgentSessionRegistration' });
export type AgentSessionRegistration = z.infer<typeof AgentSessionRegistrationSchema>;

/** POST DATAPLANE_ROUTES.agentSessions (data-plane token): a connection of an agent reached this data plane. */
export const AgentSessionRegisterRequestSchema = z
  .object({
    /** The authtoken exactly as the agent sent it; the control plane hashes and checks it. Never logged. */
    authtoken: z.string().min(1).max(256),
    declaration: AgentDeclarationSchema,
    /** The agent's address as the data plane saw it (after GATEHOUSE_TRUSTED_PROXIES). */
    remote_address: z.string().max(64),
    dataplane_id: z.string().min(1).max(128),
  })
  .meta({ id: 'AgentSessionRegisterRequest' });
export type AgentSessionRegisterRequest = z.infer<typeof AgentSessionRegisterRequestSchema>;

/** POST DATAPLANE_ROUTES.agentSessionLeave (data-plane token): this data plane lost its connection to the session. */
export const AgentSessionLeaveRequestSchema = z
  .object({
    session_id: z.string(),
    dataplane_id: z.string().min(1).max(128),
    /** `agent-closed`, `dead-peer`, `dataplane-shutdown`, `revoked`. */
    reason: z.string().max(64),
  })
  .meta({ id: 'AgentSessionLeaveRequest' });
export type AgentSessionLeaveRequest = z.infer<typeof AgentSessionLeaveRequestSchema>;

/**
 * How a data plane registers and leaves agent sessions: over HTTP with its token in the distributed shape, with the
 * control plane's own service in the embedded shape (beside ConfigApi in config-source.ts).
 */
export interface AgentSessionApi {
  registerAgentSession(request: AgentSessionRegisterRequest): Promise<AgentSessionRegistration>;
  leaveAgentSession(request: AgentSessionLeaveRequest): Promise<void>;
}

/**
 * On a SyncEndpoint of type `agent`: the sessions serving it. One member unless the endpoint is pooled. A data plane
 * forwards to a member whose tunnel it holds, balancing across them; none held → 502 ENDPOINT_OFFLINE.
 */
export const SyncAgentEndpointSchema = z
  .object({
    pooling_enabled: z.boolean(),
    members: z.array(
      z.object({
        session_id: z.string(),
        /** The upstream the agent reported (display only). */
        upstream: z.string(),
      }),
    ),
  })
  .meta({ id: 'SyncAgentEndpoint' });
export type SyncAgentEndpoint = z.infer<typeof SyncAgentEndpointSchema>;
