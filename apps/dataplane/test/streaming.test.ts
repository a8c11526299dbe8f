import { request } from 'node:http';
import { once } from 'node:events';
import { connect, type LookupFunction } from 'node:net';
import { Agent, WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest, openStream } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';
import { startWebSocketEcho } from './helpers/websocket-echo.js';

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions:\n      - type: forward-internal\n        config:\n          url: ${url}\n`;

describe('streaming', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let sse: RunningServer;
  let slow: RunningServer;
  let silent: RunningServer;
  let websocket: Awaited<ReturnType<typeof startWebSocketEcho>>;
  let big: RunningServer;
  let bigSent = 0;
  /** Lets the SSE upstream finish its stream: the test controls when. */
  let releaseStream: () => void = () => undefined;
  const upstreamClosed: string[] = [];

  beforeAll(async () => {
    sse = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: greeting\ndata: first\n\n');
      releaseStream = () => res.end('data: last\n\n');
    });
    slow = await listen((req, res) => {
      res.on('close', () => upstreamClosed.push(req.url ?? ''));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started\n');
      // Never ends by itself: only the client going away can end it.
    });
    silent = await listen(() => {
      // Accepts the request and never answers.
    });
    websocket = await startWebSocketEcho();
    big = await listen((req, res) => {
      if (req.method === 'POST') {
        // Echo the upload's size: proves a chunked request body streamed through whole.
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(size)));
        return;
      }
      // 64 MiB, written as fast as the connection takes it; counts what it managed to hand over.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          bigSent = sent;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await config.start();
    await config.upsertEndpoint({ id: 'ep_sse_internal', url: 'https://sse.internal', upstream_url: sse.url });
    await config.upsertEndpoint({ id: 'ep_slow_internal', url: 'https://slow.internal', upstream_url: slow.url });
    await config.upsertEndpoint({ id: 'ep_silent_internal', url: 'https://silent.internal', upstream_url: silent.url });
    await config.upsertEndpoint({
      id: 'ep_ws_internal',
      url: 'https://ws.internal',
      upstream_url: websocket.url,
      upstream_host_header: 'rewrite',
    });
    await config.upsertEndpoint({ id: 'ep_big_internal', url: 'https://big.internal', upstream_url: big.url });
    await config.upsertEndpoint({
      id: 'ep_big',
      url: 'https://big.example.com',
      traffic_policy: forwardTo('https://big.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_sse',
      url: 'https://sse.example.com',
      traffic_policy: forwardTo('https://sse.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_slow',
      url: 'https://slow.example.com',
      traffic_policy: forwardTo('https://slow.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_silent',
      url: 'https://silent.example.com',
      traffic_policy: forwardTo('https://silent.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_ws',
      url: 'https://ws.example.com',
      traffic_policy: `on_http_request:
  - name: tokens only
    expressions: ["!hasReqHeader('x-token')"]
    actions:
      - type: deny
        config: { status_code: 401 }
  - actions:
      - type: forward-internal
        config: { url: "https://ws.internal" }
`,
    });
    await config.upsertEndpoint({
      id: 'ep_ws_reason',
      url: 'https://reason.example.com',
      // Header values built from request data: the engine turns CR/LF/NUL into spaces, the raw writer drops the rest.
      traffic_policy: `on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 403
          headers:
            x-reason: "\${decodeBase64(getQueryParam('r')[0])}"
            x-ok: fine
          body: no
`,
    });
    gateway = await startDataplane(config, { idleTimeoutMs: 1_500 });
  });

  afterAll(async () => {
    releaseStream();
    await gateway?.stop();
    await config.close();
    await Promise.all([sse?.close(), slow?.close(), silent?.close(), websocket?.close(), big?.close()]);
  });

  it('delivers the first server-sent event while the upstream still holds the stream open', async () => {
    const { contentType, firstChunk, body } = await openStream({
      port: gateway.port,
      path: '/events',
      headers: { host: 'sse.example.com', accept: 'text/event-stream' },
    });
    expect(contentType).toBe('text/event-stream');
    expect(firstChunk).toBe('event: greeting\ndata: first\n\n');
    // Only now does the upstream finish: the event above could not have been buffered until the end.
    releaseStream();
    expect(await body).toBe('event: greeting\ndata: first\n\ndata: last\n\n');
  });

  it('aborts the upstream request when the client disconnects', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gateway.port, path: '/hang', headers: { host: 'slow.example.com' }, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no first chunk')), 5_000).unref();
    });
    await eventually(() => upstreamClosed.includes('/hang'), 5_000, 'the upstream request to be closed');
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/hang');
    expect(event.error_code).toBe('CLIENT_CLOSED');
  });

  it('applies backpressure: a client that stops reading stops the upstream instead of filling the gateway', async () => {
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gateway.port, path: '/big', headers: { host: 'big.example.com' }, agent: false },
        (res) => {
          let total = 0;
          res.once('data', (first: Buffer) => {
            total += first.length;
            res.pause();
            // Stalled reader: the upstream may only get a few socket buffers ahead, not the whole 64 MiB.
            setTimeout(() => {
              try {
                expect(bigSent).toBeLessThan(16 * 1024 * 1024);
              } catch (error) {
                reject(error instanceof Error ? error : new Error(String(error)));
              }
              res.on('data', (chunk: Buffer) => (total += chunk.length));
              res.on('end', () => resolve(total));
              res.resume();
            }, 500);
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(received).toBe(64 * 1024 * 1024);
  });

  it('streams a chunked upload to the upstream and counts its bytes', async () => {
    const size = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          method: 'POST',
          path: '/upload',
          headers: { host: 'big.example.com', 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      for (let index = 0; index < 10; index++) req.write(Buffer.alloc(100_000, 97));
      req.end();
    });
    expect(size).toBe('1000000');
    const event = await gateway.sink.waitFor((candidate) => candidate.path === '/upload');
    expect(event.bytes_in).toBe(1_000_000);
  });

  it('answers 504 UPSTREAM_TIMEOUT when the upstream stays silent past the idle timeout', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'silent.example.com' });
    expect(response.status).toBe(504);
    expect(response.headers['gatehouse-error-code']).toBe('UPSTREAM_TIMEOUT');
  });

  it('passes a WebSocket upgrade through after the request phase allowed it', async () => {
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if (options.all === true)
        (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
          { address: '127.0.0.1', family: 4 },
        ]);
      else callback(null, '127.0.0.1', 4);
    };
    const dispatcher = new Agent({ connect: { lookup } });
    try {
      const socket = new WebSocket(`ws://ws.example.com:${gateway.port}/chat`, {
        dispatcher,
        headers: { 'x-token': 'yes' },
      });
      const reply = await new Promise<string>((resolve, reject) => {
        socket.addEventListener('open', () => socket.send('hello'));
        socket.addEventListener('message', (event) => resolve(String(event.data)));
        socket.addEventListener('error', () => reject(new Error('websocket failed')));
      });
      expect(reply).toBe('echo:hello');
      socket.close();
      expect(websocket.hosts.at(-1)).toBe(`127.0.0.1:${websocket.port}`);
    } finally {
      await dispatcher.close();
    }
  });

  it('runs the request phase on the upgrade request: a deny answers before the upstream is contacted', async () => {
    const before = websocket.hosts.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: gateway.port,
        path: '/chat',
        headers: {
          host: 'ws.example.com',
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
        agent: false,
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgraded despite the deny')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    expect(websocket.hosts.length).toBe(before);
  });

  it('writes no header from request data that could split the raw upgrade response', async () => {
    const rawUpgrade = async (payload: string): Promise<string> => {
      const socket = connect(gateway.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const r = encodeURIComponent(Buffer.from(payload, 'latin1').toString('base64'));
      socket.write(
        `GET /chat?r=${r} HTTP/1.1\r\nhost: reason.example.com\r\nconnection: Upgrade\r\nupgrade: websocket\r\n` +
          'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await once(socket, 'close');
      return Buffer.concat(chunks).toString('latin1');
    };
    const split = await rawUpgrade('a\r\nset-cookie: session=stolen\r\n\r\nHTTP/1.1 200 OK');
    const [head] = split.split('\r\n\r\n');
    expect(head!.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(head).not.toMatch(/^set-cookie/im);
    expect(head).toMatch(/^x-ok: fine$/m);
    expect(split.match(/^HTTP\/1\.1/gm)).toHaveLength(1);
    // A control character the engine lets through: the header is left out instead of written raw.
    const control = await rawUpgrade('a\u0001b');
    expect(control).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(control).not.toMatch(/x-reason/);
    expect(control.includes('\u0001')).toBe(false);
    // The ordinary HTTP path answers the same response (node:http would have thrown on the header: a 500).
    const plain = await httpRequest({
      port: gateway.port,
      host: 'reason.example.com',
      path: `/?r=${encodeURIComponent(Buffer.from('a\u0001b').toString('base64'))}`,
    });
    expect(plain.status).toBe(403);
    expect(plain.headers['x-ok']).toBe('fine');
    expect(plain.headers['x-reason']).toBeUndefined();
  });
});
