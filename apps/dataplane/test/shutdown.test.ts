import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

describe('graceful shutdown', () => {
  const config = new TestConfigServer(undefined);
  let slow: RunningServer;
  let arrived = 0;

  beforeAll(async () => {
    slow = await listen((_req, res) => {
      arrived++;
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('finished'), 400);
    });
    await config.start();
    await config.upsertEndpoint({ id: 'ep_slow_internal', url: 'https://slow.internal', upstream_url: slow.url });
    await config.upsertEndpoint({
      id: 'ep_slow',
      url: 'https://slow.example.com',
      traffic_policy:
        'on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "https://slow.internal" } }]\n',
    });
  });

  afterAll(async () => {
    await config.close();
    await slow?.close();
  });

  it('reports not ready, lets in-flight requests finish, then stops', async () => {
    const gateway = await startDataplane(config, { shutdownGraceMs: 5_000 });
    const inFlight = httpRequest({ port: gateway.port, host: 'slow.example.com' });
    await eventually(() => arrived === 1, 5_000, 'the request to reach the upstream');
    const stopped = gateway.stop();
    await eventually(
      async () => (await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status === 503,
      5_000,
      'draining',
    );
    await expect(httpRequest({ port: gateway.port, host: 'slow.example.com' })).rejects.toThrow(/ECONNREFUSED/);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toBe('finished');
    await stopped;
  });
});
