import type {
  AgentEndpointMember,
  ConfigChange,
  Endpoint,
  IpCategory,
  PolicyVersion,
} from '../generated/prisma/client';
import { toSyncAgent } from '../agent-sessions/agent-sessions.presenter';
import {
  type ConfigChangeEvent,
  ConfigChangeKindSchema,
  ConfigChangePayloadSchema,
  type SyncEndpoint,
  type SyncIpCategory,
} from '@gatehouse/contracts';

/** An agent endpoint needs its members (`agentMembers`) loaded: they become SyncEndpoint.agent. */
export function toSyncEndpoint(
  endpoint: Endpoint & { agentMembers?: readonly AgentEndpointMember[] },
  activeVersion: Pick<PolicyVersion, 'version' | 'sha256' | 'source'> | null,
): SyncEndpoint {
  return {
    id: endpoint.id,
    url: endpoint.url,
    type: endpoint.type,
    proto: endpoint.proto === 'https' ? 'https' : 'http',
    host: endpoint.host,
    port: endpoint.port,
    upstream_url: endpoint.upstreamUrl,
    upstream_host_header: endpoint.upstreamHostHeader,
    policy: activeVersion
      ? { version: activeVersion.version, sha256: activeVersion.sha256, source: activeVersion.source }
      : null,
    request_log_capture: { headers: endpoint.requestLogCaptureHeaders, bodies: endpoint.requestLogCaptureBodies },
    policy_rejected: null,
    agent: endpoint.type === 'agent' ? toSyncAgent(endpoint.agentMembers ?? []) : null,
    shadow_policy:
      endpoint.shadowPolicySha256 !== null && endpoint.shadowPolicySource !== null
        ? { sha256: endpoint.shadowPolicySha256, source: endpoint.shadowPolicySource }
        : null,
  };
}

export function toSyncIpCategory(category: IpCategory): SyncIpCategory {
  return { name: category.name, cidrs: category.cidrs, description: category.description, builtin: category.builtin };
}

export function toConfigChangeEvent(change: ConfigChange): ConfigChangeEvent {
  const payload = ConfigChangePayloadSchema.partial().parse(change.payload ?? {});
  return {
    revision: Number(change.revision),
    kind: ConfigChangeKindSchema.parse(change.kind),
    entity_id: change.entityId,
    endpoint: payload.endpoint ?? null,
    ip_category: payload.ip_category ?? null,
    created_at: change.createdAt.toISOString(),
  };
}
