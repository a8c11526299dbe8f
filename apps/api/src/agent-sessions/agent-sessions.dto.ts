import { z } from 'zod';
import { PageQuerySchema } from '../common/pagination';

const Timestamp = z.iso.datetime({ offset: true });

export const AgentSessionDataplaneResponseSchema = z
  .object({
    id: z.string(),
    connected_at: Timestamp,
    /** Refreshed by the data plane's heartbeats; a data plane silent for 45 s loses the session. */
    last_seen_at: Timestamp,
  })
  .meta({ id: 'AgentSessionDataplane' });

export const AgentSessionEndpointResponseSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    upstream: z.string(),
    upstream_protocol: z.string(),
    pooling_enabled: z.boolean(),
  })
  .meta({ id: 'AgentSessionEndpoint' });

export const AgentSessionResponseSchema = z
  .object({
    id: z.string().meta({ example: 'as_01jq8x3m6r2v9c4k7t5w0y1z3b' }),
    uri: z.string(),
    authtoken_id: z.string(),
    agent_version: z.string(),
    hostname: z.string(),
    remote_address: z.string(),
    /**
     * `online`: at least one data plane holds a connection; `detached`: none does, and the session ends once that has
     * lasted AGENT_SESSION_GRACE_MS; `ended`: see end_reason.
     */
    status: z.enum(['online', 'detached', 'ended']),
    dataplanes: z.array(AgentSessionDataplaneResponseSchema),
    /** The endpoints this session serves (none once ended). */
    endpoints: z.array(AgentSessionEndpointResponseSchema),
    started_at: Timestamp,
    last_seen_at: Timestamp,
    ended_at: Timestamp.nullable(),
    /** `no-dataplane` (no data plane held it for the grace period), `authtoken-revoked`, or `replaced` (the same agent restarted and took its endpoints over); null while live. */
    end_reason: z.string().nullable(),
  })
  .meta({ id: 'AgentSession' });
export type AgentSessionResponse = z.infer<typeof AgentSessionResponseSchema>;

export const AgentSessionListResponseSchema = z
  .object({ agent_sessions: z.array(AgentSessionResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'AgentSessionList' });
export type AgentSessionListResponse = z.infer<typeof AgentSessionListResponseSchema>;

export const ListAgentSessionsQuerySchema = PageQuerySchema.extend({
  live: z.enum(['true', 'false']).optional().meta({ description: 'true: sessions not ended; false: ended ones' }),
  authtoken_id: z.string().max(64).optional(),
});
export type ListAgentSessionsQuery = z.output<typeof ListAgentSessionsQuerySchema>;

/** On an agent endpoint (`type: agent`): who serves it. Null for every other type. */
export const EndpointAgentResponseSchema = z
  .object({
    pooling_enabled: z.boolean(),
    /** Members with at least one data plane holding their connection. */
    online_members: z.number().int().min(0),
    members: z.array(
      z.object({
        session_id: z.string(),
        agent_version: z.string(),
        hostname: z.string(),
        remote_address: z.string(),
        online: z.boolean(),
        dataplanes: z.array(z.object({ id: z.string(), connected_at: Timestamp })),
        /** When this session started serving the endpoint. */
        since: Timestamp,
        upstream: z.string(),
        upstream_protocol: z.string(),
      }),
    ),
  })
  .meta({ id: 'EndpointAgent' });
export type EndpointAgentResponse = z.infer<typeof EndpointAgentResponseSchema>;
