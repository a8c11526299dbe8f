import { describe, expect, it } from 'vitest';
import {
  ConfigChangeEventSchema,
  ConfigSnapshotSchema,
  HeartbeatRequestSchema,
  SyncEndpointSchema,
  trafficUrl,
  type ConfigSnapshot,
} from './config-sync.js';
import { sampleEndpoint } from './testing/index.js';

const endpoint = sampleEndpoint({
  id: 'ep_1',
  policy: { version: 3, sha256: 'a'.repeat(64), source: 'on_http_request: []' },
  request_log_capture: { headers: true, bodies: false },
});

describe('config sync contract', () => {
  it('accepts a snapshot and a change that carries the endpoint', () => {
    const snapshot = {
      revision: 7,
      generated_at: '2026-11-24T09:00:00.000Z',
      endpoints: [endpoint],
      ip_categories: [
        { name: 'com.anthropic.api', cidrs: ['160.79.104.0/21'], description: 'Anthropic API', builtin: true },
      ],
    } satisfies ConfigSnapshot;
    expect(ConfigSnapshotSchema.parse(snapshot)).toEqual(snapshot);
    const change = ConfigChangeEventSchema.parse({
      revision: 8,
      kind: 'endpoint.upserted',
      entity_id: 'ep_1',
      endpoint,
      ip_category: null,
      created_at: '2026-11-24T09:00:01.000Z',
    });
    expect(change.endpoint?.policy?.version).toBe(3);
  });

  it('reads an endpoint written before request_log_capture existed as capturing nothing', () => {
    const { request_log_capture: _capture, ...older } = endpoint;
    expect(SyncEndpointSchema.parse(older).request_log_capture).toEqual({ headers: false, bodies: false });
    expect(SyncEndpointSchema.parse(endpoint).request_log_capture).toEqual({ headers: true, bodies: false });
    expect(
      SyncEndpointSchema.safeParse({ ...endpoint, request_log_capture: { headers: 'yes', bodies: false } }).success,
    ).toBe(false);
  });

  it('rejects what a data plane could not apply', () => {
    const change = {
      kind: 'endpoint.upserted',
      entity_id: 'ep_1',
      endpoint,
      ip_category: null,
      created_at: '2026-11-24T09:00:01.000Z',
    };
    expect(ConfigChangeEventSchema.safeParse({ ...change, revision: 0 }).success).toBe(false);
    expect(ConfigChangeEventSchema.safeParse({ ...change, revision: 2, kind: 'endpoint.renamed' }).success).toBe(false);
    expect(
      ConfigChangeEventSchema.safeParse({
        ...change,
        revision: 2,
        endpoint: { ...endpoint, policy: { version: 1, sha256: 'short', source: '' } },
      }).success,
    ).toBe(false);
    expect(
      ConfigSnapshotSchema.safeParse({
        revision: 1.5,
        generated_at: '2026-11-24T09:00:00Z',
        endpoints: [],
        ip_categories: [],
      }).success,
    ).toBe(false);
    expect(
      HeartbeatRequestSchema.safeParse({ id: '', hostname: 'h', version: '1', applied_revision: 0, last_error: null })
        .success,
    ).toBe(false);
  });

  describe('heartbeat request-event counters', () => {
    const base = { id: 'dp-1', hostname: 'gw-1', version: '1', applied_revision: 0, last_error: null };
    const counters = { buffered: 70, dropped: 0, spilled: 40, send_failures: 2, deferred_sends: 9, queued_batches: 5 };

    it('are optional (no queue, or an older data plane) and kept as sent, a backlog not yet read as null', () => {
      expect(HeartbeatRequestSchema.parse(base).request_events).toBeUndefined();
      expect(HeartbeatRequestSchema.parse({ ...base, request_events: counters }).request_events).toEqual(counters);
      const unread = { ...counters, queued_batches: null };
      expect(HeartbeatRequestSchema.parse({ ...base, request_events: unread }).request_events).toEqual(unread);
    });

    it('refuses negative, fractional, missing or non-numeric counts', () => {
      const { dropped: _dropped, ...missing } = counters;
      for (const bad of [
        { ...counters, buffered: -1 },
        { ...counters, spilled: 1.5 },
        { ...counters, send_failures: '3' },
        { ...counters, queued_batches: -2 },
        missing,
      ])
        expect(HeartbeatRequestSchema.safeParse({ ...base, request_events: bad }).success, JSON.stringify(bad)).toBe(
          false,
        );
    });
  });

  describe('heartbeat traffic address', () => {
    const base = { id: 'dp-1', hostname: 'gw-1', version: '1', applied_revision: 0, last_error: null };

    it('is optional, so data planes older than the field still heartbeat', () => {
      const parsed = HeartbeatRequestSchema.parse(base);
      expect(parsed.traffic).toBeUndefined();
    });

    it('accepts scheme, bind host, port and a public URL; refuses a bad port, scheme or URL', () => {
      const traffic = { scheme: 'https', host: '0.0.0.0', port: 8443, public_url: 'https://gw.example.com' };
      expect(HeartbeatRequestSchema.parse({ ...base, traffic }).traffic).toEqual(traffic);
      for (const bad of [
        { ...traffic, port: 0 },
        { ...traffic, port: 70_000 },
        { ...traffic, scheme: 'ftp' },
        { ...traffic, public_url: 'ftp://gw.example.com' },
        { ...traffic, public_url: 'not a url' },
      ])
        expect(HeartbeatRequestSchema.safeParse({ ...base, traffic: bad }).success, JSON.stringify(bad)).toBe(false);
    });

    it('builds the address clients use: public URL first, the host name for a wildcard bind, brackets for IPv6', () => {
      expect(trafficUrl({ scheme: 'http', host: '0.0.0.0', port: 8080 }, 'gw-1')).toBe('http://gw-1:8080');
      expect(trafficUrl({ scheme: 'https', host: '::', port: 8443 }, 'gw-1')).toBe('https://gw-1:8443');
      expect(trafficUrl({ scheme: 'http', host: '10.0.0.5', port: 80 }, 'gw-1')).toBe('http://10.0.0.5:80');
      expect(trafficUrl({ scheme: 'http', host: '::1', port: 8080 }, 'gw-1')).toBe('http://[::1]:8080');
      expect(
        trafficUrl({ scheme: 'http', host: '0.0.0.0', port: 8080, public_url: 'https://lb.example.com' }, 'gw-1'),
      ).toBe('https://lb.example.com');
    });
  });
});
