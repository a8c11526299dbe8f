import { describe, expect, it } from 'vitest';
import { configChangeSchema, configSnapshotSchema, heartbeatRequestSchema, type SyncedEndpoint } from './config-sync.js';

const endpoint = {
  id: 'ep_1',
  url: 'https://mcp.example.com',
  type: 'cloud',
  host: 'mcp.example.com',
  upstream_url: null,
  upstream_host_header: 'preserve',
  policy_version: 3,
  traffic_policy: 'on_http_request: []',
  updated_at: '2026-11-24T09:00:00.000Z',
} satisfies SyncedEndpoint;

describe('config sync contract', () => {
  it('accepts a snapshot and a change that carries the endpoint', () => {
    const snapshot = { revision: 7, generated_at: '2026-11-24T09:00:00.000Z', endpoints: [endpoint], ip_categories: [{ name: 'com.anthropic.api', cidrs: ['160.79.104.0/21'] }] };
    expect(configSnapshotSchema.parse(snapshot)).toEqual(snapshot);
    expect(configChangeSchema.parse({ revision: 8, kind: 'endpoint.upserted', entity_id: 'ep_1', endpoint }).endpoint?.policy_version).toBe(3);
  });

  it('rejects what a data plane could not apply', () => {
    expect(configChangeSchema.safeParse({ revision: 0, kind: 'endpoint.upserted', entity_id: 'ep_1' }).success).toBe(false);
    expect(configChangeSchema.safeParse({ revision: 2, kind: 'endpoint.renamed', entity_id: 'ep_1' }).success).toBe(false);
    expect(configSnapshotSchema.safeParse({ revision: 1.5, generated_at: '', endpoints: [], ip_categories: [] }).success).toBe(false);
    expect(heartbeatRequestSchema.safeParse({ id: '', hostname: 'h', version: '1', applied_revision: 0, endpoint_count: 0, last_error: null }).success).toBe(false);
  });
});
