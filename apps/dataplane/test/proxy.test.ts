import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions:\n      - type: forward-internal\n        config:\n          url: ${url}\n`;

describe('proxying by Host', () => {
  const config = new TestConfigServer(undefined);
  let echo: RunningServer;
  let liar: RunningServer;
  let gateway: RunningDataplane;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    // An upstream that tries to set the gateway's error header and hop-by-hop headers.
    liar = await listen((_req, res) => {
      res.writeHead(200, {
        'gatehouse-error-code': 'FORGED',
        'keep-alive': 'timeout=5',
        'x-kept': 'yes',
        'content-type': 'text/plain',
      });
      res.end('hello');
    });
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_rewrite_internal',
      url: 'https://rewrite.internal',
      upstream_url: `${echo.url}/base/`,
      upstream_host_header: 'rewrite',
    });
    await config.upsertEndpoint({ id: 'ep_liar_internal', url: 'https://liar.internal', upstream_url: liar.url });
    await config.upsertEndpoint({
      id: 'ep_offline_internal',
      url: 'https://offline.internal',
      upstream_url: 'http://127.0.0.1:1',
    });
    await config.upsertEndpoint({
      id: 'ep_exact',
      url: 'https://api.example.com',
      traffic_policy: forwardTo('https://echo.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_wild',
      url: 'https://*.example.com',
      traffic_policy: forwardTo('https://rewrite.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_deep_wild',
      url: 'https://*.deep.example.com',
      traffic_policy: forwardTo('https://liar.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_offline',
      url: 'https://offline.example.net',
      traffic_policy: forwardTo('https://offline.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_hops',
      url: 'https://hops.example.net',
      traffic_policy: forwardTo('https://loop.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_loop_internal',
      url: 'https://loop.internal',
      traffic_policy: forwardTo('https://loop.internal'),
    });
    gateway = await startDataplane(config);
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await echo?.close();
    await liar?.close();
  });

  it('routes an exact host (case-insensitive, port ignored) and keeps the client Host upstream', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'API.Example.com:9999',
      path: '/v1/items?x=1&y=2',
      method: 'POST',
      body: 'payload',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    const echoed = JSON.parse(response.body) as EchoedRequest;
    expect(echoed.url).toBe('/v1/items?x=1&y=2');
    expect(echoed.method).toBe('POST');
    expect(echoed.body).toBe('payload');
    expect(echoed.headers.host).toBe('API.Example.com:9999');
    expect(echoed.headers['x-forwarded-host']).toBe('API.Example.com:9999');
    expect(echoed.headers['x-forwarded-proto']).toBe('http');
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('routes a wildcard host and rewrites Host plus the upstream base path when the internal endpoint says so', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'tenant.example.com', path: '/p' });
    expect(response.status).toBe(200);
    const echoed = JSON.parse(response.body) as EchoedRequest;
    expect(echoed.url).toBe('/base/p');
    expect(echoed.headers.host).toBe(`127.0.0.1:${echo.port}`);
  });

  it('prefers the most specific wildcard', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'a.b.deep.example.com' });
    expect(response.body).toBe('hello');
  });

  it('answers 404 ENDPOINT_NOT_FOUND for an unknown host, with the error header', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'nobody.example.org' });
    expect(response.status).toBe(404);
    expect(response.headers['gatehouse-error-code']).toBe('ENDPOINT_NOT_FOUND');
  });

  it('never routes straight to an internal endpoint by Host', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'echo.internal' });
    expect(response.status).toBe(404);
  });

  it('drops hop-by-hop headers both ways and strips an upstream gatehouse-error-code', async () => {
    const request = await httpRequest({
      port: gateway.port,
      host: 'api.example.com',
      headers: {
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        te: 'trailers',
        'proxy-connection': 'x',
        'x-normal': 'kept',
        'gatehouse-error-code': 'FORGED',
      },
    });
    const echoed = JSON.parse(request.body) as EchoedRequest;
    expect(echoed.headers['x-secret-hop']).toBeUndefined();
    expect(echoed.headers.te).toBeUndefined();
    expect(echoed.headers['proxy-connection']).toBeUndefined();
    expect(echoed.headers['gatehouse-error-code']).toBeUndefined();
    expect(echoed.headers['x-normal']).toBe('kept');

    const response = await httpRequest({ port: gateway.port, host: 'x.deep.example.com' });
    expect(response.status).toBe(200);
    expect(response.headers['gatehouse-error-code']).toBeUndefined();
    expect(response.headers['keep-alive']).toBeUndefined();
    expect(response.headers['x-kept']).toBe('yes');
  });

  it('replaces a spoofed X-Forwarded-For from an untrusted peer', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'api.example.com',
      headers: { 'x-forwarded-for': '6.6.6.6' },
    });
    expect((JSON.parse(response.body) as EchoedRequest).headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream refuses the connection', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'offline.example.net' });
    expect(response.status).toBe(502);
    expect(response.headers['gatehouse-error-code']).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('stops a forward-internal loop at the hop limit with 508 FORWARD_HOP_LIMIT', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'hops.example.net' });
    expect(response.status).toBe(508);
    expect(response.headers['gatehouse-error-code']).toBe('FORWARD_HOP_LIMIT');
  });

  it('answers a burst larger than a turn (admission in slices) in order, each request logged once', async () => {
    // Twelve pipelined requests in one write reach node:http in one read: at most eight start in that turn (fewer when
    // earlier requests used part of the count), the rest wait.
    const marker = uniqueId('burst');
    const socket = connect(gateway.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const paths = Array.from({ length: 12 }, (_, index) => `/burst/${index}?m=${marker}`);
    socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nhost: api.example.com\r\n\r\n`).join(''));
    try {
      await expect.poll(() => received.match(/HTTP\/1\.1 200 /g)?.length ?? 0, { timeout: 5_000 }).toBe(12);
      const echoedUrls = [...received.matchAll(/"url":"([^"]+)"/g)].map((match) => match[1]);
      expect(echoedUrls).toEqual(paths);
      const events = await eventually(() => {
        const logged = gateway.sink.events.filter((event) => event.query === `m=${marker}`);
        return logged.length === 12 && logged;
      });
      expect(events.map((event) => event.path).sort()).toEqual(paths.map((path) => path.split('?')[0]).sort());
      for (const event of events) {
        expect(event.status).toBe(200);
        expect(event.duration_ms).toBeGreaterThanOrEqual(event.upstream_duration_ms!);
      }
      // At least the four beyond the first turn's eight waited, and /metrics counts them.
      const metrics = (await httpRequest({ port: gateway.adminPort, path: '/metrics' })).body;
      const waited = /^gatehouse_dataplane_requests_waited_total (\d+)$/m.exec(metrics);
      expect(Number(waited?.[1])).toBeGreaterThanOrEqual(4);
    } finally {
      socket.destroy();
    }
  });

  it('emits one request event per request with the DESIGN §7 fields', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const marker = uniqueId('marker');
    await httpRequest({
      port: gateway.port,
      host: 'api.example.com',
      path: `/events?m=${marker}`,
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'user-agent': 'vitest' },
    });
    const event = await gateway.sink.waitFor((candidate) => candidate.query === `m=${marker}`);
    expect(event).toMatchObject({
      endpoint_id: 'ep_exact',
      endpoint_url: 'https://api.example.com',
      policy_version: 1,
      method: 'GET',
      host: 'api.example.com',
      path: '/events',
      status: 200,
      client_ip: '127.0.0.1',
      user_agent: 'vitest',
      forwarded_to: 'https://echo.internal',
      decision: { phase: 'on_http_request', rule_index: 0, rule_name: null, action: 'forward-internal' },
      error_code: null,
      trace_id: traceId,
    });
    expect(event.upstream_duration_ms).toBeGreaterThan(0);
    expect(event.duration_ms).toBeGreaterThanOrEqual(event.upstream_duration_ms!);
    expect(event.bytes_out).toBeGreaterThan(0);
    expect(event.rules_matched).toEqual([
      { phase: 'on_http_request', rule_index: 0, rule_name: null, endpoint_id: 'ep_exact' },
    ]);
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
