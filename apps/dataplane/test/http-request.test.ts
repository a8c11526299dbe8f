import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopIdFromSecret } from '../src/proxy/loop-detection.js';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * The http-request action over real sockets (issue 15, item 3): side calls to internal endpoints (whose own policy
 * runs first) and to allowed addresses, with the outbound rules, the CDN-Loop id, the timeout, the body limit and
 * on_error deciding what the client sees.
 */
describe('http-request side calls', () => {
  const config = new TestConfigServer(undefined);
  const loopId = loopIdFromSecret('http-request-test');
  let gateway: RunningDataplane;
  /** The tier service and identity service in one upstream, by path. */
  let services: RunningServer;
  const seen: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    services = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://services');
        seen.push({ path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        switch (url.pathname) {
          case '/lookup': {
            const tiers: Record<string, string> = { alice: 'gold', mallory: 'blocked' };
            const tier = tiers[url.searchParams.get('user') ?? ''];
            if (tier === undefined) res.writeHead(404).end('{}');
            else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tier }));
            return;
          }
          case '/check': {
            const good = req.headers.authorization === 'Bearer good-token';
            res
              .writeHead(good ? 200 : 401, { 'content-type': 'application/json' })
              .end(JSON.stringify({ sub: good ? 'alice' : null, checked_by: req.headers['x-checked-by'] ?? null }));
            return;
          }
          case '/slow':
            setTimeout(() => res.writeHead(200).end('late'), 3_000).unref();
            return;
          case '/big':
            res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(300 * 1024));
            return;
          default:
            res.writeHead(404).end();
        }
      });
    });
    await config.start();
    gateway = await startDataplane(config, { loopId });
    const internal = (id: string, upstream: string, policy?: string) =>
      config.upsertEndpoint({
        id: `ep_${id}_internal`,
        url: `https://${id}.internal`,
        upstream_url: upstream,
        ...(policy === undefined ? {} : { traffic_policy: policy }),
      });
    await internal('tiers', services.url);
    // The identity service's internal endpoint has a policy of its own: it must run for side calls too.
    await internal(
      'identity',
      services.url,
      `on_http_request:\n  - actions:\n      - type: add-headers\n        config: { headers: { x-checked-by: identity-endpoint } }\n`,
    );
    await internal('down', 'http://127.0.0.1:1');
    const cloud = (id: string, policy: string) =>
      config.upsertEndpoint({ id: `ep_${id}`, url: `https://${id}.example.com`, traffic_policy: policy });
    await cloud(
      'tier',
      `on_http_request:
  - actions:
      - type: http-request
        config:
          url: https://tiers.internal/lookup
          query_params: [{ key: user, value: "\${getReqHeader('x-user').join(',')}" }]
          on_error: halt
  - expressions: ["actions.ngrok.http_request.res.status_code != 200"]
    actions:
      - type: deny
        config: { status_code: 403, body: unknown user }
  - expressions: ["json.decode(actions.ngrok.http_request.res.body).tier == 'blocked'"]
    actions:
      - type: deny
        config: { status_code: 403, body: blocked tier }
  - actions:
      - type: custom-response
        config: { status_code: 200, body: "tier \${json.decode(actions.ngrok.http_request.res.body).tier}" }
`,
    );
    await cloud(
      'identity',
      `on_http_request:
  - actions:
      - type: http-request
        config:
          url: https://identity.internal/check
          method: POST
          headers: { authorization: "\${getReqHeader('authorization').join(',')}" }
          body: checking
  - expressions: ["actions.ngrok.http_request.res.status_code != 200"]
    actions:
      - type: deny
        config: { status_code: 401, body: identity check failed }
  - actions:
      - type: custom-response
        config: { status_code: 200, body: "\${actions.ngrok.http_request.res.body}" }
`,
    );
    const reportError = (id: string, url: string, extra = '') =>
      cloud(
        id,
        `on_http_request:
  - actions:
      - type: http-request
        config: { url: "${url}"${extra} }
      - type: custom-response
        config: { status_code: 200, body: "\${actions.ngrok.http_request.error.code}|\${actions.ngrok.http_request.res.status_code}" }
`,
      );
    const halting = (id: string, url: string, extra = '') =>
      cloud(
        id,
        `on_http_request:
  - actions:
      - type: http-request
        config: { url: "${url}", on_error: halt${extra} }
      - type: custom-response
        config: { status_code: 200, body: unreachable }
`,
      );
    await reportError('down-continue', 'https://down.internal/');
    await halting('down-halt', 'https://down.internal/');
    await halting('slow', 'https://tiers.internal/slow', ', timeout: 1s');
    await reportError('metadata', 'http://169.254.169.254/latest/meta-data');
    await reportError('itself', `http://127.0.0.1:${gateway.port}/`);
    await reportError('big', 'https://tiers.internal/big');
    await reportError('unknown-internal', 'https://nobody.internal/');
    await reportError('direct', `${services.url}/lookup?user=alice`);
    await gateway.dataplane.sync.heartbeat();
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await services?.close();
    await config.close();
  });

  const send = (host: string, headers: Record<string, string> = {}) =>
    httpRequest({ port: gateway.port, host, headers });

  it('looks up a tier on an internal endpoint and lets later rules read the JSON answer', async () => {
    seen.length = 0;
    const gold = await send('tier.example.com', { 'x-user': 'alice' });
    expect(gold).toMatchObject({ status: 200, body: 'tier gold' });
    const lookup = seen.find((request) => request.path === '/lookup')!;
    // The side call carries the client, the installation's loop id and a User-Agent of its own.
    expect(lookup.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(lookup.headers['cdn-loop']).toContain(loopId);
    expect(lookup.headers['user-agent']).toBe('gatehouse/http-request');
    expect(await send('tier.example.com', { 'x-user': 'mallory' })).toMatchObject({
      status: 403,
      body: 'blocked tier',
    });
    expect(await send('tier.example.com', { 'x-user': 'eve' })).toMatchObject({ status: 403, body: 'unknown user' });
  });

  it("checks an identity through the internal endpoint's own policy, with the client's credential", async () => {
    seen.length = 0;
    const allowed = await send('identity.example.com', { authorization: 'Bearer good-token' });
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.body)).toEqual({ sub: 'alice', checked_by: 'identity-endpoint' });
    expect(seen.find((request) => request.path === '/check')).toMatchObject({ body: 'checking' });
    expect(await send('identity.example.com', { authorization: 'Bearer forged' })).toMatchObject({
      status: 401,
      body: 'identity check failed',
    });
  });

  it('an upstream that is down: continue exposes the error code, halt answers 502 HTTP_REQUEST_FAILED', async () => {
    expect(await send('down-continue.example.com')).toMatchObject({ status: 200, body: 'HTTP_REQUEST_UNAVAILABLE|0' });
    const halted = await send('down-halt.example.com');
    expect(halted.status).toBe(502);
    expect(halted.headers['gatehouse-error-code']).toBe('HTTP_REQUEST_FAILED');
  });

  it('gives up at the timeout, retries and all, and halts', async () => {
    const started = Date.now();
    const halted = await send('slow.example.com');
    expect(halted.status).toBe(502);
    expect(halted.headers['gatehouse-error-code']).toBe('HTTP_REQUEST_FAILED');
    expect(Date.now() - started).toBeLessThan(2_500);
    const event = await gateway.sink.waitFor((candidate) => candidate.host === 'slow.example.com');
    expect(JSON.stringify(event)).toContain('HTTP_REQUEST_TIMEOUT');
  });

  it('refuses blocked targets: the metadata address, the gateway itself, an unknown internal endpoint', async () => {
    expect(await send('metadata.example.com')).toMatchObject({ status: 200, body: 'HTTP_REQUEST_FORBIDDEN|0' });
    expect(await send('itself.example.com')).toMatchObject({ status: 200, body: 'HTTP_REQUEST_LOOP|0' });
    expect(await send('unknown-internal.example.com')).toMatchObject({
      status: 200,
      body: 'HTTP_REQUEST_TARGET_UNKNOWN|0',
    });
  });

  it('caps the response body at 256 KiB', async () => {
    expect(await send('big.example.com')).toMatchObject({ status: 200, body: 'HTTP_REQUEST_RESPONSE_TOO_LARGE|0' });
  });

  it('calls an address the outbound rules allow directly (loopback is allowed by default)', async () => {
    expect(await send('direct.example.com')).toMatchObject({ status: 200, body: '|200' });
  });
});
