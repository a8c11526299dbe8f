import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane } from './helpers/dataplane-harness.js';
import { listen, type RunningServer } from './helpers/upstreams.js';
import { collectFrames, maskedTextFrame, requestUpgrade, startWebSocketEcho } from './helpers/websocket-echo.js';

/** An SSE upstream that never ends: one event with an id every 50 ms. */
async function startEventSource(): Promise<RunningServer> {
  return listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let id = 0;
    const timer = setInterval(() => res.write(`id: ${++id}\ndata: tick ${id}\n\n`), 50);
    res.on('close', () => clearInterval(timer));
  });
}

/** Reads an SSE response until it ends or fails; `ended` is true only for a clean end (terminating chunk). */
function readEventStream(port: number, host: string) {
  return new Promise<{ received: () => string; outcome: Promise<'ended' | 'failed'> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/events', headers: { host }, agent: false }, (res) => {
      let received = '';
      res.setEncoding('utf8');
      const outcome = new Promise<'ended' | 'failed'>((done) => {
        res.on('end', () => done('ended'));
        res.on('error', () => done('failed'));
        res.on('aborted', () => done('failed'));
      });
      res.on('data', (chunk: string) => (received += chunk));
      resolve({ received: () => received, outcome });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('long-lived streams on drain', () => {
  const config = new TestConfigServer(undefined);
  let events: RunningServer;
  let echo: Awaited<ReturnType<typeof startWebSocketEcho>>;
  const upstreamSockets = new Set<Duplex>();

  beforeAll(async () => {
    events = await startEventSource();
    echo = await startWebSocketEcho();
    echo.server.on('upgrade', (_req, socket: Duplex) => upstreamSockets.add(socket));
    await config.start();
    const forwardTo = (url: string) =>
      `on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "${url}" } }]\n`;
    await config.upsertEndpoint({ id: 'ep_events_internal', url: 'https://events.internal', upstream_url: events.url });
    await config.upsertEndpoint({ id: 'ep_ws_internal', url: 'https://ws.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_events',
      url: 'https://events.example.com',
      traffic_policy: forwardTo('https://events.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_ws',
      url: 'https://ws.example.com',
      traffic_policy: forwardTo('https://ws.internal'),
    });
  });

  afterAll(async () => {
    // The echo server keeps its side of the half-closed connection open (that is the case under test).
    for (const socket of upstreamSockets) socket.destroy();
    await config.close();
    await events?.close();
    await echo?.close();
  });

  it('ends an SSE response cleanly after the stream grace, at an event boundary', async () => {
    // The request grace is far longer than the stream grace: only the stream grace can end this stream in time.
    const gateway = await startDataplane(config, { shutdownGraceMs: 60_000, streamGraceMs: 300 });
    const stream = await readEventStream(gateway.port, 'events.example.com');
    await eventually(() => stream.received().includes('id: 2\n'), 5_000, 'two events');
    const started = Date.now();
    await gateway.stop();
    expect(await stream.outcome).toBe('ended');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Whole events only, so the client's Last-Event-ID names the last one it fully received.
    expect(stream.received()).toMatch(/^(id: \d+\ndata: tick \d+\n\n)+$/);
  });

  it('sends WebSocket clients close 1001 and does not hang on a half-closed splice', async () => {
    const gateway = await startDataplane(config, { shutdownGraceMs: 60_000, streamGraceMs: 300 });
    const open = await requestUpgrade({ port: gateway.port, host: 'ws.example.com', path: '/' });
    const halfOpen = await requestUpgrade({ port: gateway.port, host: 'ws.example.com', path: '/' });
    if (open.kind !== 'upgraded' || halfOpen.kind !== 'upgraded') throw new Error('upgrade refused');
    const client = collectFrames(open.socket);
    open.socket.write(maskedTextFrame('hello'));
    await eventually(() => client.frames.length === 1, 5_000, 'the echo');
    // The client sends FIN; the upstream keeps its side open: the splice is half-open.
    halfOpen.socket.resume();
    halfOpen.socket.end();
    const started = Date.now();
    await gateway.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await client.closed).toEqual({ hadError: false });
    expect(client.frames[0]).toEqual({ opcode: 0x1, payload: Buffer.from('echo:hello') });
    expect(client.frames[1]?.opcode).toBe(0x8);
    expect(client.frames[1]?.payload.readUInt16BE(0)).toBe(1001);
  });
});
