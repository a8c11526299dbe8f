import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

/** What the data plane does with each kind of action result: request/response edits, directives, chained policies. */
describe('policy effects on the wire', () => {
  const config = new TestConfigServer(undefined);
  let echo: RunningServer;
  let events: RunningServer;
  let failing: RunningServer;
  let gateway: RunningDataplane;
  let releaseEvents: () => void = () => undefined;

  const endpoint = async (name: string, policy: string, internal = 'https://echo.internal') => {
    await config.upsertEndpoint({
      id: `ep_${name}`,
      url: `https://${name}.example.com`,
      traffic_policy: policy.replaceAll('TARGET', internal),
    });
  };
  const forward = `  - actions:\n      - type: forward-internal\n        config: { url: "TARGET" }\n`;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    events = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: secret-1\n\n');
      releaseEvents = () => res.end('id: 2\ndata: secret-2\n\n');
    });
    failing = await listen((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'));
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({ id: 'ep_events_internal', url: 'https://events.internal', upstream_url: events.url });
    await config.upsertEndpoint({
      id: 'ep_failing_internal',
      url: 'https://failing.internal',
      upstream_url: failing.url,
    });
    await config.upsertEndpoint({
      id: 'ep_guarded_internal',
      url: 'https://guarded.internal',
      upstream_url: echo.url,
      traffic_policy: `on_http_request:
  - expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403, body: "internal says no" } }]
  - actions: [{ type: add-headers, config: { headers: { x-internal-policy: ran } } }]
on_http_response:
  - actions: [{ type: add-headers, config: { headers: { x-internal-response: ran } } }]
`,
    });
    await endpoint(
      'headers',
      `on_http_request:
  - actions:
      - type: add-headers
        config: { headers: { x-added: "\${req.method}-\${conn.client_ip}" } }
      - type: remove-headers
        config: { headers: [x-remove-me] }
      - type: url-rewrite
        config: { from: "/old/(.*)$", to: "/new/$1" }
${forward}on_http_response:
  - actions:
      - type: add-headers
        config: { headers: { x-response-added: "\${res.status_code}" } }
      - type: remove-headers
        config: { headers: [x-upstream] }
`,
    );
    await endpoint(
      'replace',
      `on_http_request:\n${forward}on_http_response:\n  - expressions: ["res.status_code == 200"]\n    actions: [{ type: custom-response, config: { status_code: 299, body: "replaced by policy" } }]\n`,
    );
    await endpoint(
      'denied',
      `on_http_request:\n  - actions: [{ type: deny, config: { status_code: 401, body: "no" } }]\non_http_response:\n  - actions: [{ type: add-headers, config: { headers: { x-after-deny: "yes" } } }]\n`,
    );
    await endpoint(
      'gzip',
      `on_http_request:\n${forward}on_http_response:\n  - actions: [{ type: compress-response }]\n`,
    );
    await endpoint(
      'sse',
      `on_http_request:\n${forward}on_http_response:\n  - actions: [{ type: sse-find-replace, config: { replacements: [{ from: "secret-(\\\\d)", to: "redacted-$1" }] } }]\n`,
      'https://events.internal',
    );
    await endpoint(
      'rewrite-response',
      `on_http_request:\n${forward}on_http_response:\n  - actions: [{ type: response-body-find-replace, config: { replacements: [{ from: "\\"method\\":\\"GET\\"", to: "\\"method\\":\\"REWRITTEN\\"" }] } }]\n`,
    );
    await endpoint(
      'rewrite-request',
      `on_http_request:\n  - actions: [{ type: request-body-find-replace, config: { replacements: [{ from: "password=\\\\w+", to: "password=***" }] } }]\n${forward}`,
    );
    await endpoint(
      'body-times',
      `on_http_request:\n  - actions: [{ type: request-body-find-replace, config: { replacements: [{ from: "x", to: "y" }] } }, { type: add-headers, config: { headers: { x-times: "\${req.ts.header_received} \${req.ts.body_received}", x-content-type: "\${req.content_type} \${req.content_type.parameters['charset']}" } } }]\n${forward}`,
    );
    await endpoint('close', `on_http_request:\n  - actions: [{ type: close-connection }]\n`);
    await endpoint('chained', `on_http_request:\n${forward}`, 'https://guarded.internal');
    await endpoint(
      'breaker',
      `on_http_request:\n  - actions: [{ type: circuit-breaker, config: { volume_threshold: 3, error_threshold: 0.5 } }]\n${forward}`,
      'https://failing.internal',
    );
    await endpoint(
      'logged',
      `on_http_request:\n  - actions: [{ type: log, config: { metadata: { who: "\${getReqHeader('authorization')[0]}", plain: "visible", cookie: "by name" } } }]\n${forward}`,
    );
    await endpoint(
      'mcp-guard',
      `on_http_request:\n  - expressions: ["mcp.tool == 'delete_everything'"]\n    actions: [{ type: deny, config: { status_code: 403, body: "tool blocked" } }]\n${forward}`,
    );
    await endpoint(
      'tcp',
      `on_tcp_connect:\n  - actions: [{ type: restrict-ips, config: { deny: ["127.0.0.0/8"] } }]\non_http_request:\n${forward}`,
    );
    gateway = await startDataplane(config, { maxBodyBytes: 1024 });
  });

  afterAll(async () => {
    releaseEvents();
    await gateway?.stop();
    await config.close();
    await Promise.all([echo?.close(), events?.close(), failing?.close()]);
  });

  it('sends request header edits and URL rewrites upstream, and response header edits to the client', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'headers.example.com',
      path: '/old/thing?q=1',
      headers: { 'x-remove-me': 'gone' },
    });
    const echoed = JSON.parse(response.body) as EchoedRequest;
    expect(echoed.url).toBe('/new/thing?q=1');
    expect(echoed.headers['x-added']).toBe('GET-127.0.0.1');
    expect(echoed.headers['x-remove-me']).toBeUndefined();
    expect(response.headers['x-response-added']).toBe('200');
    expect(response.headers['x-upstream']).toBeUndefined();
  });

  it('replaces the upstream response when on_http_response answers', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'replace.example.com' });
    expect(response.status).toBe(299);
    expect(response.body).toBe('replaced by policy');
  });

  it('runs on_http_response after the request phase answered itself', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'denied.example.com' });
    expect(response.status).toBe(401);
    expect(response.headers['x-after-deny']).toBe('yes');
  });

  it('compresses when the policy asks and the client accepts it', async () => {
    const response = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          headers: { host: 'gzip.example.com', 'accept-encoding': 'gzip' },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers['content-length']).toBeUndefined();
    expect((JSON.parse(gunzipSync(response.body).toString('utf8')) as EchoedRequest).method).toBe('GET');
  });

  it('compresses with Unix compress (LZW) for a client that accepts only that, as ngrok offers it', async () => {
    const response = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          headers: { host: 'gzip.example.com', 'accept-encoding': 'compress' },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(response.headers['content-encoding']).toBe('compress');
    // gzip's own LZW decoder (unlzw) reads compress(1) streams: an independent implementation of the format.
    const decoded = execFileSync('gzip', ['-dc'], { input: response.body });
    expect((JSON.parse(decoded.toString('utf8')) as EchoedRequest).method).toBe('GET');
  });

  it('rewrites each server-sent event as it streams', async () => {
    const chunks = await new Promise<string[]>((resolve, reject) => {
      const received: string[] = [];
      const req = request(
        { host: '127.0.0.1', port: gateway.port, headers: { host: 'sse.example.com' }, agent: false },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            received.push(chunk);
            // The first event arrives rewritten while the upstream still holds the stream.
            if (received.length === 1) releaseEvents();
          });
          res.on('end', () => resolve(received));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(chunks[0]).toBe('data: redacted-1\n\n');
    expect(chunks.join('')).toBe('data: redacted-1\n\nid: 2\ndata: redacted-2\n\n');
  });

  it('rewrites a whole response body and a buffered request body', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'rewrite-response.example.com' });
    expect((JSON.parse(response.body) as EchoedRequest).method).toBe('REWRITTEN');
    const posted = await httpRequest({
      port: gateway.port,
      host: 'rewrite-request.example.com',
      method: 'POST',
      body: 'user=a&password=hunter2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const echoed = JSON.parse(posted.body) as EchoedRequest;
    expect(echoed.body).toBe('user=a&password=***');
    expect(echoed.headers['content-length']).toBe(String('user=a&password=***'.length));
  });

  it('gives policies the time the body arrived (req.ts.body_received) when they read it', async () => {
    // The body follows the headers by 100 ms, so the two times must differ by at least that.
    const echoed = await new Promise<EchoedRequest>((resolve, reject) => {
      const req = request(
        {
          port: gateway.port,
          method: 'POST',
          path: '/',
          headers: {
            host: 'body-times.example.com',
            'content-type': 'text/plain; charset=utf-8',
            'content-length': '3',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EchoedRequest));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end('xxx'), 100);
    });
    expect(echoed.body).toBe('yyy');
    expect(echoed.headers['x-content-type']).toBe('text/plain utf-8');
    const [header, body] = String(echoed.headers['x-times'])
      .split(' ')
      .map((text) => Date.parse(text));
    expect(body! - header!).toBeGreaterThanOrEqual(90);
  });

  it('answers 413 REQUEST_BODY_TOO_LARGE when a policy must read a body over the limit', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'rewrite-request.example.com',
      method: 'POST',
      body: 'x'.repeat(4096),
    });
    expect(response.status).toBe(413);
    expect(response.headers['gatehouse-error-code']).toBe('REQUEST_BODY_TOO_LARGE');
  });

  it('still emits the request event when the client leaves while a policy reads its body', async () => {
    const socket = connect(gateway.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /left-early HTTP/1.1\r\nhost: rewrite-request.example.com\r\ncontent-length: 1000\r\n\r\nuser=a&pas',
    );
    // The policy needs the whole body before it runs: admission is waiting for the rest when the client goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/left-early');
    expect(event).toMatchObject({ endpoint_id: 'ep_rewrite-request', status: 499, error_code: 'CLIENT_CLOSED' });
  });

  it('closes the connection for close-connection', async () => {
    await expect(httpRequest({ port: gateway.port, host: 'close.example.com' })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });

  it("runs the internal endpoint's own policy after forward-internal, in both phases", async () => {
    const allowed = await httpRequest({ port: gateway.port, host: 'chained.example.com', path: '/ok' });
    expect((JSON.parse(allowed.body) as EchoedRequest).headers['x-internal-policy']).toBe('ran');
    expect(allowed.headers['x-internal-response']).toBe('ran');
    const denied = await httpRequest({ port: gateway.port, host: 'chained.example.com', path: '/admin' });
    expect(denied.status).toBe(403);
    expect(denied.body).toBe('internal says no');
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/admin');
    expect(event).toMatchObject({
      endpoint_id: 'ep_chained',
      forwarded_to: 'https://guarded.internal',
      decision: { action: 'deny', rule_index: 0 },
    });
    expect(event.rules_matched).toEqual([
      { phase: 'on_http_request', rule_index: 0, rule_name: null, endpoint_id: 'ep_chained' },
      { phase: 'on_http_request', rule_index: 0, rule_name: null, endpoint_id: 'ep_guarded_internal' },
      { phase: 'on_http_response', rule_index: 0, rule_name: null, endpoint_id: 'ep_guarded_internal' },
    ]);
  });

  it('feeds circuit breakers with upstream results until they open (503)', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 5; index++)
      statuses.push((await httpRequest({ port: gateway.port, host: 'breaker.example.com' })).status);
    expect(statuses.slice(0, 3)).toEqual([500, 500, 500]);
    expect(statuses.at(-1)).toBe(503);
  });

  it('puts log metadata in the request event with secrets redacted', async () => {
    await httpRequest({
      port: gateway.port,
      host: 'logged.example.com',
      path: '/logged',
      headers: { authorization: 'Bearer top-secret-token' },
    });
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/logged');
    // By value (the Authorization header's text) and by key (a key named like a secret header).
    expect(event.logs).toEqual([{ who: '[REDACTED]', plain: 'visible', cookie: '[REDACTED]' }]);
    expect(JSON.stringify(event)).not.toContain('top-secret-token');
  });

  it('detects MCP calls in JSON-RPC bodies when a policy reads mcp.*', async () => {
    const call = (tool: string) =>
      httpRequest({
        port: gateway.port,
        host: 'mcp-guard.example.com',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: {} } }),
      });
    expect((await call('delete_everything')).status).toBe(403);
    const allowed = await call('read_file');
    expect(allowed.status).toBe(200);
    expect((JSON.parse(allowed.body) as EchoedRequest).body).toContain('read_file');
  });

  it('runs on_tcp_connect before the first request and drops denied connections', async () => {
    await expect(httpRequest({ port: gateway.port, host: 'tcp.example.com' })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });

  it('answers HEAD with headers only', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'denied.example.com', method: 'HEAD' });
    expect(response.status).toBe(401);
    expect(response.body).toBe('');
  });
});
