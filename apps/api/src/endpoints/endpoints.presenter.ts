import { type MemberWithSession, presentEndpointAgent } from '../agent-sessions/agent-sessions.presenter';
import type { Endpoint, PolicyVersion } from '../generated/prisma/client';
import type { PolicyIssue } from '../traffic-policy/policy-engine';
import type { EndpointResponse, PolicyVersionResponse } from './endpoints.dto';

/** An endpoint with its active (= latest: history is linear) policy version. */
export type EndpointWithPolicy = Endpoint & { activePolicy: PolicyVersion | null; agentMembers: MemberWithSession[] };

export function presentEndpoint(endpoint: EndpointWithPolicy, policyWarnings?: PolicyIssue[]): EndpointResponse {
  return {
    id: endpoint.id,
    uri: `/api/endpoints/${endpoint.id}`,
    url: endpoint.url,
    type: endpoint.type,
    proto: endpoint.proto === 'https' ? 'https' : 'http',
    host: endpoint.host,
    port: endpoint.port,
    description: endpoint.description,
    metadata: endpoint.metadata,
    upstream_url: endpoint.upstreamUrl,
    upstream_host_header: endpoint.upstreamHostHeader,
    request_log_capture: { headers: endpoint.requestLogCaptureHeaders, bodies: endpoint.requestLogCaptureBodies },
    traffic_policy: endpoint.activePolicy?.source ?? null,
    policy_version: endpoint.activePolicy?.version ?? null,
    agent: endpoint.type === 'agent' ? presentEndpointAgent(endpoint.agentMembers) : null,
    shadow_policy:
      endpoint.shadowPolicySource === null || endpoint.shadowPolicySha256 === null
        ? null
        : {
            traffic_policy: endpoint.shadowPolicySource,
            sha256: endpoint.shadowPolicySha256,
            message: endpoint.shadowPolicyMessage ?? '',
            created_at: (endpoint.shadowPolicyCreatedAt ?? endpoint.updatedAt).toISOString(),
          },
    ...(policyWarnings ? { policy_warnings: policyWarnings } : {}),
    created_at: endpoint.createdAt.toISOString(),
    updated_at: endpoint.updatedAt.toISOString(),
  };
}

export function presentPolicyVersion(
  version: PolicyVersion,
  activeVersion: number | null,
  policyWarnings?: PolicyIssue[],
): PolicyVersionResponse {
  return {
    endpoint_id: version.endpointId,
    version: version.version,
    uri: `/api/endpoints/${version.endpointId}/policy-versions/${version.version}`,
    traffic_policy: version.source,
    sha256: version.sha256,
    message: version.message,
    created_by: version.createdBy,
    restored_from: version.restoredFrom,
    active: version.version === activeVersion,
    ...(policyWarnings ? { policy_warnings: policyWarnings } : {}),
    // Written only through the DTO's schemas (PolicyTestCasesSchema, the runner's report), so read back as those shapes.
    tests: version.tests as PolicyVersionResponse['tests'],
    test_result: version.testResult as PolicyVersionResponse['test_result'],
    created_at: version.createdAt.toISOString(),
  };
}

/** The audit-event view of an endpoint: everything but the policy text (versions are audited separately). */
export function auditViewOfEndpoint(
  endpoint: EndpointWithPolicy,
): Omit<EndpointResponse, 'traffic_policy' | 'agent' | 'shadow_policy'> {
  // Members come and go with sessions (their own audit events); the endpoint's view leaves them out, and the shadow
  // has audit events of its own.
  const { traffic_policy: _policy, agent: _agent, shadow_policy: _shadow, ...rest } = presentEndpoint(endpoint);
  return rest;
}
