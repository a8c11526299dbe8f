import { ConfigSnapshotSchema, type ConfigChangeEvent, type ConfigSnapshot } from '@gatehouse/contracts';
import { MemoryRateLimitStore } from '@gatehouse/traffic-policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataplane, InProcessConfigSource, MemoryRequestEventSink, type Dataplane } from '../src/index.js';
import { createLogger } from '../src/logger.js';
import { syncedEndpoint } from './helpers/config-server.js';
import { eventually, walkthroughWithCapacity } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

/**
 * The embedded shape: a composition root (apps/gatehouse) constructs the data plane in the control plane's process
 * with in-process config, counters and event sink (no HTTP to itself, no Redis), through the package's public entry
 * point.
 */
describe('embedded data plane', () => {
  let echo: RunningServer;
  let dataplane: Dataplane;
  let port: number;
  let revision = 0;
  const changes: ConfigChangeEvent[] = [];
  const state: ConfigSnapshot = {
    revision: 0,
    generated_at: new Date().toISOString(),
    endpoints: [],
    ip_categories: [{ name: 'com.anthropic.api', cidrs: ['127.0.0.1/32'], description: '', builtin: false }],
  };
  const sink = new MemoryRequestEventSink(3);
  const source = new InProcessConfigSource({
    snapshot: () => ConfigSnapshotSchema.parse({ ...state, revision }),
    changesSince: (since) => changes.filter((change) => change.revision > since),
  });
  const commit = (endpoint: ReturnType<typeof syncedEndpoint>): ConfigChangeEvent => {
    const change: ConfigChangeEvent = {
      revision: ++revision,
      kind: 'endpoint.upserted',
      entity_id: endpoint.id,
      endpoint,
      ip_category: null,
      created_at: new Date().toISOString(),
    };
    state.endpoints = [...state.endpoints.filter((existing) => existing.id !== endpoint.id), endpoint];
    changes.push(change);
    return change;
  };

  beforeAll(async () => {
    echo = await startEchoUpstream();
    commit(syncedEndpoint({ id: 'ep_internal', url: 'https://mcp.example.internal', upstream_url: echo.url }));
    commit(
      syncedEndpoint({ id: 'ep_cloud', url: 'https://mcp.example.com', traffic_policy: walkthroughWithCapacity(2) }),
    );
    dataplane = createDataplane({
      port: 0,
      host: '127.0.0.1',
      adminPort: null,
      configApi: source,
      changeFeed: source,
      rateLimitStore: new MemoryRateLimitStore(),
      eventSink: sink,
      logger: createLogger('silent'),
    });
    ({ port } = await dataplane.start());
  });

  afterAll(async () => {
    await dataplane?.stop();
    await echo?.close();
  });

  it('serves the walkthrough from in-process config with per-process counters', async () => {
    const send = () => httpRequest({ port, host: 'mcp.example.com', headers: { authorization: 'Bearer embedded' } });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(429);
  });

  it('applies published changes in order and fetches the ones it missed', async () => {
    source.publish(
      commit(
        syncedEndpoint({
          id: 'ep_a',
          url: 'https://a.example.com',
          traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 418 } }]\n',
        }),
      ),
    );
    // Applied on the sync queue, a microtask later: no I/O in between.
    await Promise.resolve();
    await eventually(() => dataplane.store.appliedRevision === revision, 100, 'the change');
    commit(
      syncedEndpoint({
        id: 'ep_b',
        url: 'https://b.example.com',
        traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 419 } }]\n',
      }),
    );
    source.publish(
      commit(
        syncedEndpoint({
          id: 'ep_c',
          url: 'https://c.example.com',
          traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 420 } }]\n',
        }),
      ),
    );
    await eventually(() => dataplane.store.appliedRevision === revision, 5_000, 'catch-up');
    expect((await httpRequest({ port, host: 'b.example.com' })).status).toBe(419);
  });

  it('counts request events the sink refused, without failing the requests', async () => {
    expect((await httpRequest({ port, host: 'a.example.com' })).status).toBe(418);
    const drops = (await dataplane.metrics.eventSinkDrops.get()).values[0]?.value ?? 0;
    expect(sink.events).toHaveLength(3);
    expect(drops).toBeGreaterThanOrEqual(1);
  });
});
