import { Agent, request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
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

  it('ends a keep-alive connection with its in-flight response instead of waiting out the grace period', async () => {
    // The grace period is far longer than the slow request: a drain that only closes connections at its end would
    // still be waiting when the race below is decided.
    const gateway = await startDataplane(config, { shutdownGraceMs: 60_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const keepAliveRequest = () =>
        new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: gateway.port, path: '/', headers: { host: 'slow.example.com' }, agent },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end();
        });
      const warmUp = await keepAliveRequest();
      expect(warmUp.connection).toBe('keep-alive');
      const before = arrived;
      const inFlight = keepAliveRequest();
      await eventually(() => arrived === before + 1, 5_000, 'the second request to reach the upstream');
      const stopped = gateway.stop().then(() => 'stopped' as const);
      const response = await inFlight;
      expect(response).toEqual({ status: 200, connection: 'close', body: 'finished' });
      expect(await Promise.race([stopped, delay(15_000).then(() => 'still draining' as const)])).toBe('stopped');
    } finally {
      agent.destroy();
    }
  });
});
