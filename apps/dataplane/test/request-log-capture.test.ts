import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../src/events/request-event.js';
import { capturedBodyMaxBytes } from '../src/proxy/request-log-capture.js';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest, openStream } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions:\n      - type: forward-internal\n        config:\n          url: ${url}\n`;

const captureAll = { headers: true, bodies: true };
const bearer = 'Bearer sk-live-secret-token-1234';
const cookie = 'session=cookie-secret-5678';
const proxyAuthorization = 'Basic cHJveHk6c2VjcmV0LXByb3h5';
const setCookie = 'upstream-session=set-cookie-secret-9012; HttpOnly';

/** Every secret value the tests send or receive: none may appear anywhere in an emitted event. */
const secretValues = [
  'sk-live-secret-token-1234',
  'cookie-secret-5678',
  'cHJveHk6c2VjcmV0LXByb3h5',
  'set-cookie-secret',
];

describe('request-log capture (per-endpoint opt-in)', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let upstream: RunningServer;
  let sse: RunningServer;
  /** Bytes of each upload the upstream received, by path: proves capture never cut the stream it copied from. */
  const receivedBytes = new Map<string, number>();
  let releaseStream: () => void = () => undefined;

  beforeAll(async () => {
    upstream = await listen((req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => {
        receivedBytes.set(req.url ?? '', size);
        if (req.url?.startsWith('/image') === true) {
          res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': setCookie, 'x-upstream': 'yes' });
        res.end(JSON.stringify({ received: size, path: req.url }));
      });
    });
    sse = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: greeting\ndata: first\n\n');
      releaseStream = () => res.end('data: last\n\n');
    });
    await config.start();
    await config.upsertEndpoint({ id: 'ep_app_internal', url: 'https://app.internal', upstream_url: upstream.url });
    await config.upsertEndpoint({ id: 'ep_sse_internal', url: 'https://sse.internal', upstream_url: sse.url });
    await config.upsertEndpoint({
      id: 'ep_capture',
      url: 'https://capture.example.com',
      traffic_policy: forwardTo('https://app.internal'),
      request_log_capture: captureAll,
    });
    await config.upsertEndpoint({
      id: 'ep_headers_only',
      url: 'https://headers.example.com',
      traffic_policy: forwardTo('https://app.internal'),
      request_log_capture: { headers: true, bodies: false },
    });
    await config.upsertEndpoint({
      id: 'ep_plain',
      url: 'https://plain.example.com',
      traffic_policy: forwardTo('https://app.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_sse_capture',
      url: 'https://sse.example.com',
      traffic_policy: forwardTo('https://sse.internal'),
      request_log_capture: captureAll,
    });
    await config.upsertEndpoint({
      id: 'ep_deny_capture',
      url: 'https://deny.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 403
          headers: { content-type: text/plain, set-cookie: "${setCookie}" }
          body: go away
`,
      request_log_capture: captureAll,
    });
    gateway = await startDataplane(config);
  });

  afterAll(async () => {
    releaseStream();
    await gateway?.stop();
    await config.close();
    await Promise.all([upstream?.close(), sse?.close()]);
  });

  function expectNoSecrets(event: RequestEvent): void {
    const text = JSON.stringify(event);
    for (const secret of secretValues) expect(text).not.toContain(secret);
  }

  it('logs header values without Authorization, Cookie, Proxy-Authorization or Set-Cookie, and a body prefix', async () => {
    // Multi-byte characters around the 8 KiB cut: the prefix must end on a whole character.
    const upload = JSON.stringify({ text: 'é'.repeat(6_000), tail: 'never captured' });
    const response = await httpRequest({
      port: gateway.port,
      host: 'capture.example.com',
      method: 'POST',
      path: '/rpc?x=1',
      headers: {
        'content-type': 'application/json',
        Authorization: bearer,
        cookie,
        'proxy-authorization': proxyAuthorization,
        'x-request-tag': ['one', 'two'],
      },
      body: upload,
    });
    expect(response.status).toBe(200);
    const uploadBytes = Buffer.byteLength(upload);
    expect(receivedBytes.get('/rpc?x=1')).toBe(uploadBytes);

    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/rpc');
    expect(event.request_headers).toMatchObject({
      host: 'capture.example.com',
      'content-type': 'application/json',
      'x-request-tag': ['one', 'two'],
    });
    expect(Object.keys(event.request_headers ?? {})).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(authorization|cookie|proxy-authorization)$/i)]),
    );
    expect(event.response_headers).toMatchObject({ 'content-type': 'application/json', 'x-upstream': 'yes' });
    expect(event.response_headers).not.toHaveProperty('set-cookie');
    expect(event.response_body).toBe(JSON.stringify({ received: uploadBytes, path: '/rpc?x=1' }));

    const requestBody = event.request_body ?? '';
    const [captured, marker] = requestBody.split('\n[truncated: ');
    expect(marker).toMatch(new RegExp(`^first \\d+ of ${uploadBytes} bytes\\]$`));
    expect(upload.startsWith(captured!)).toBe(true);
    // 'é' is two bytes: 8192 bytes minus the 9-byte `{"text":"` leave an odd count, so one character is cut in half.
    expect(Buffer.byteLength(captured!)).toBe(capturedBodyMaxBytes - 1);
    expect(requestBody).not.toContain('\uFFFD');
    expectNoSecrets(event);
  });

  it('logs only headers when only headers are opted in', async () => {
    await httpRequest({
      port: gateway.port,
      host: 'headers.example.com',
      method: 'POST',
      path: '/headers-only',
      headers: { 'content-type': 'text/plain', authorization: bearer },
      body: 'hello',
    });
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/headers-only');
    expect(event.request_headers).toMatchObject({ 'content-type': 'text/plain' });
    expect(event.response_headers).toMatchObject({ 'x-upstream': 'yes' });
    expect(event).not.toHaveProperty('request_body');
    expect(event).not.toHaveProperty('response_body');
    expectNoSecrets(event);
  });

  it('logs neither headers nor bodies for an endpoint that did not opt in', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'plain.example.com',
      method: 'POST',
      path: '/plain',
      headers: { 'content-type': 'application/json', authorization: bearer, cookie },
      body: '{"hello":"world"}',
    });
    expect(response.status).toBe(200);
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/plain');
    expect(event.status).toBe(200);
    for (const field of ['request_headers', 'response_headers', 'request_body', 'response_body'])
      expect(event).not.toHaveProperty(field);
    expectNoSecrets(event);
  });

  it('summarizes a binary body instead of logging its bytes', async () => {
    await httpRequest({ port: gateway.port, host: 'capture.example.com', path: '/image.png' });
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/image.png');
    expect(event.response_body).toBe('[image/png body not captured] (7 bytes)');
    expect(event.request_body).toBeNull();
  });

  it('logs what a policy answered itself, Set-Cookie removed', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'deny.example.com',
      path: '/denied',
      headers: { cookie },
    });
    expect(response.status).toBe(403);
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/denied');
    expect(event.response_body).toBe('go away');
    expect(event.response_headers).toMatchObject({ 'content-type': 'text/plain' });
    expect(event.response_headers).not.toHaveProperty('set-cookie');
    expectNoSecrets(event);
  });

  it('still streams server-sent events one by one, and logs the stream once it ends', async () => {
    const { contentType, firstChunk, body } = await openStream({
      port: gateway.port,
      path: '/events',
      headers: { host: 'sse.example.com', accept: 'text/event-stream', authorization: bearer },
    });
    expect(contentType).toBe('text/event-stream');
    // The upstream still holds the stream open: the first event cannot have waited for the capture or the end.
    expect(firstChunk).toBe('event: greeting\ndata: first\n\n');
    expect(gateway.sink.events.some((event) => event.path === '/events')).toBe(false);
    releaseStream();
    expect(await body).toBe('event: greeting\ndata: first\n\ndata: last\n\n');
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/events');
    expect(event.response_body).toBe('event: greeting\ndata: first\n\ndata: last\n\n');
    expect(event.response_headers).toMatchObject({ 'content-type': 'text/event-stream' });
    expect(event.request_headers).toMatchObject({ accept: 'text/event-stream' });
    expectNoSecrets(event);
  });
});
