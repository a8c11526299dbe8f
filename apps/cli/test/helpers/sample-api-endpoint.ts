// A REST endpoint (as GET /api/endpoints/{id} answers it) for unit tests. It is built on the shared fixture of
// @gatehouse/contracts/testing, so the fields the REST and sync shapes share (address, upstream, capture, policy)
// agree with what every other workspace tests with; the address fields follow the URL, as the API derives them.
import { parseEndpointUrl } from '@gatehouse/contracts';
import { sampleEndpoint } from '@gatehouse/contracts/testing';
import type { ManagedEndpoint } from '../../src/gatehouse-api.js';

export function sampleApiEndpoint(overrides: Partial<ManagedEndpoint> = {}): ManagedEndpoint {
  const address = parseEndpointUrl(overrides.url ?? 'https://mcp.example.com');
  if (!address.ok) throw new Error(`sampleApiEndpoint: ${address.problem}`);
  const { url, proto, host, port, type } = address.value;
  const synced = sampleEndpoint({
    url,
    proto,
    host,
    port,
    type,
    ...(type === 'internal' ? { upstream_url: 'http://127.0.0.1:3333', policy: null } : {}),
  });
  const id = overrides.id ?? synced.id;
  return {
    id,
    uri: `/api/endpoints/${id}`,
    url,
    type,
    proto,
    host,
    port,
    description: '',
    metadata: '',
    upstream_url: synced.upstream_url,
    upstream_host_header: synced.upstream_host_header,
    request_log_capture: synced.request_log_capture,
    traffic_policy: synced.policy?.source ?? null,
    policy_version: synced.policy?.version ?? null,
    agent: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}
