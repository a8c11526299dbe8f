import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import {
  eventually,
  startDataplane,
  walkthroughWithCapacity,
  type RunningDataplane,
} from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { freePort, RedisChild } from './helpers/redis-process.js';
import { startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

/**
 * Redis carries config events and the rate-limit counters. When it dies, traffic keeps flowing on the loaded config
 * (limits fall back to per-process counters, counted in /metrics); when it returns, the feed resubscribes and catches up.
 * Uses a redis-server child of its own: the machine's Redis is never killed.
 */
describe('Redis outage', () => {
  let redis: RedisChild;
  let config: TestConfigServer;
  let echo: RunningServer;
  let gateway: RunningDataplane;
  const headers = { authorization: 'Bearer outage', 'x-forwarded-for': '160.79.104.1' };

  beforeAll(async () => {
    redis = await RedisChild.start();
    echo = await startEchoUpstream();
    config = new TestConfigServer(redis.url);
    await config.start();
    await config.upsertCategory({ name: 'com.anthropic.api', cidrs: ['160.79.104.0/21'] });
    await config.upsertEndpoint({ id: 'ep_mcp_internal', url: 'https://mcp.example.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_mcp',
      url: 'https://mcp.example.com',
      traffic_policy: walkthroughWithCapacity(1000),
    });
    gateway = await startDataplane(config, {
      redisUrl: redis.url,
      trustedProxies: ['127.0.0.1/32'],
      rateLimitTimeoutMs: 200,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config?.close();
    await echo?.close();
    await redis?.kill();
  });

  it('keeps serving on the loaded config while Redis is down, and resumes config events when it is back', async () => {
    await eventually(
      async () => (await httpRequest({ port: gateway.port, host: 'mcp.example.com', headers })).status === 200,
      3_000,
      'the first request',
    );
    await redis.kill();

    const statuses: number[] = [];
    for (let index = 0; index < 20; index++)
      statuses.push((await httpRequest({ port: gateway.port, host: 'mcp.example.com', headers })).status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The walkthrough's other rules still apply while Redis is away.
    expect(
      (
        await httpRequest({
          port: gateway.port,
          host: 'mcp.example.com',
          headers: { 'x-forwarded-for': '160.79.104.1' },
        })
      ).status,
    ).toBe(401);
    await eventually(() => gateway.dataplane.sync.feedState === 'disconnected', 5_000, 'the feed to notice');
    const metrics = (await httpRequest({ port: gateway.adminPort, path: '/metrics' })).body;
    const fallbacks = /gatehouse_dataplane_rate_limit_fallbacks_total\{reason="error"\} (\d+)/.exec(metrics);
    expect(Number(fallbacks?.[1])).toBeGreaterThanOrEqual(20);

    // Redis returns (empty: it kept nothing); a change published now reaches the data plane through the feed.
    await redis.start();
    await eventually(
      async () => {
        const change = await config.upsertEndpoint({
          id: 'ep_mcp',
          url: 'https://mcp.example.com',
          traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 418 } }]\n',
        });
        return eventually(() => gateway.dataplane.store.appliedRevision >= change.revision, 500, 'the change').then(
          () => true,
          () => false,
        );
      },
      10_000,
      'config events after Redis returns',
    );
    expect((await httpRequest({ port: gateway.port, host: 'mcp.example.com', headers })).status).toBe(418);
  });

  it('boots while Redis is down and subscribes once it starts', async () => {
    const port = await freePort();
    const late = new RedisChild(port);
    const lateConfig = new TestConfigServer(`redis://127.0.0.1:${port}`);
    await lateConfig.start();
    await lateConfig.upsertEndpoint(
      {
        id: 'ep_late',
        url: 'https://late.example.com',
        traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 418 } }]\n',
      },
      { publish: false },
    );
    const lateGateway = await startDataplane(lateConfig, { redisUrl: `redis://127.0.0.1:${port}` });
    try {
      expect((await httpRequest({ port: lateGateway.port, host: 'late.example.com' })).status).toBe(418);
      expect(lateGateway.dataplane.sync.feedState).not.toBe('subscribed');
      await late.start();
      await eventually(() => lateGateway.dataplane.sync.feedState === 'subscribed', 10_000, 'the feed to subscribe');
      const change = await lateConfig.upsertEndpoint({
        id: 'ep_late',
        url: 'https://late.example.com',
        traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 419 } }]\n',
      });
      await eventually(() => lateGateway.dataplane.store.appliedRevision === change.revision, 5_000, 'the change');
      expect((await httpRequest({ port: lateGateway.port, host: 'late.example.com' })).status).toBe(419);
    } finally {
      await lateGateway.stop();
      await lateConfig.close();
      await late.kill();
    }
  });
});
