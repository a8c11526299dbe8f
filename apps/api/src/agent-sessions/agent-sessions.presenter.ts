import type { SyncAgentEndpoint } from '@gatehouse/contracts';
import type { AgentEndpointMember, AgentSession, AgentSessionDataplane, Endpoint } from '../generated/prisma/client';
import type { AgentSessionResponse, EndpointAgentResponse } from './agent-sessions.dto';

export type SessionWithDataplanes = AgentSession & { dataplanes: AgentSessionDataplane[] };
export type MemberWithSession = AgentEndpointMember & { session: SessionWithDataplanes };
export type SessionWithDetails = SessionWithDataplanes & {
  memberships: (AgentEndpointMember & { endpoint: Pick<Endpoint, 'id' | 'url'> })[];
};

/** Includes that load what presentAgentSession needs. */
export const sessionDetails = {
  dataplanes: { orderBy: { connectedAt: 'asc' } },
  memberships: { include: { endpoint: { select: { id: true, url: true } } }, orderBy: { joinedAt: 'asc' } },
} as const;

/** Includes that load an endpoint's members with their sessions. */
export const endpointMembers = {
  orderBy: { joinedAt: 'asc' },
  include: { session: { include: { dataplanes: { orderBy: { connectedAt: 'asc' } } } } },
} as const;

export function presentAgentSession(session: SessionWithDetails): AgentSessionResponse {
  return {
    id: session.id,
    uri: `/api/agent-sessions/${session.id}`,
    authtoken_id: session.authtokenId,
    agent_version: session.agentVersion,
    hostname: session.hostname,
    remote_address: session.remoteAddress,
    status: session.endedAt !== null ? 'ended' : session.dataplanes.length > 0 ? 'online' : 'detached',
    dataplanes: session.dataplanes.map((row) => ({
      id: row.dataplaneId,
      connected_at: row.connectedAt.toISOString(),
      last_seen_at: row.lastSeenAt.toISOString(),
    })),
    endpoints: session.memberships.map((member) => ({
      id: member.endpoint.id,
      url: member.endpoint.url,
      upstream: member.upstream,
      upstream_protocol: member.upstreamProtocol,
      pooling_enabled: member.poolingEnabled,
    })),
    started_at: session.startedAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    ended_at: session.endedAt?.toISOString() ?? null,
    end_reason: session.endReason,
  };
}

export function presentEndpointAgent(members: readonly MemberWithSession[]): EndpointAgentResponse {
  const presented = members.map((member) => ({
    session_id: member.sessionId,
    agent_version: member.session.agentVersion,
    hostname: member.session.hostname,
    remote_address: member.session.remoteAddress,
    online: member.session.dataplanes.length > 0,
    dataplanes: member.session.dataplanes.map((row) => ({
      id: row.dataplaneId,
      connected_at: row.connectedAt.toISOString(),
    })),
    since: member.joinedAt.toISOString(),
    upstream: member.upstream,
    upstream_protocol: member.upstreamProtocol,
  }));
  return {
    pooling_enabled: members.some((member) => member.poolingEnabled),
    online_members: presented.filter((member) => member.online).length,
    members: presented,
  };
}

export function toSyncAgent(
  members: readonly Pick<AgentEndpointMember, 'sessionId' | 'upstream' | 'poolingEnabled'>[],
): SyncAgentEndpoint {
  return {
    pooling_enabled: members.some((member) => member.poolingEnabled),
    members: members.map((member) => ({ session_id: member.sessionId, upstream: member.upstream })),
  };
}
