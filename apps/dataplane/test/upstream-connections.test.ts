import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplaneProcess, type DataplaneProcess } from './helpers/dataplane-process.js';
import { openRawEventStream } from './helpers/raw-event-stream.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * An open event stream keeps its upstream connection busy for as long as it is open, so a per-origin connection cap
 * is a cap on concurrent MCP clients: with undici's pool capped at 256 (before), stream 257 to one upstream waited
 * with no answer. Now there is no cap unless the operator sets DATAPLANE_UPSTREAM_MAX_CONNECTIONS. The data plane
 * runs as a process, as it ships.
 */
describe('connections to one upstream', () => {
  const config = new TestConfigServer(undefined);
  let upstream: RunningServer;
  const held: ServerResponse[] = [];
  const dataplanes: DataplaneProcess[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    upstream = await listen((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: open\n\n');
      held.push(res);
    });
    await config.start();
    await config.upsertEndpoint({ id: 'ep_internal', url: 'https://streams.internal', upstream_url: upstream.url });
    await config.upsertEndpoint({
      id: 'ep_public',
      url: 'https://streams.example.com',
      traffic_policy: `on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: "https://streams.internal" }\n`,
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const res of held) res.destroy();
    await Promise.all(dataplanes.map((dataplane) => dataplane.stop()));
    await config.close();
    await upstream?.close();
  });

  async function start(env: Record<string, string> = {}): Promise<DataplaneProcess> {
    const dataplane = await startDataplaneProcess({
      GATEHOUSE_API_URL: config.url,
      GATEHOUSE_DATAPLANE_TOKEN: config.token,
      ...env,
    });
    dataplanes.push(dataplane);
    return dataplane;
  }

  /** Opens `count` event streams at once; answers how many delivered their first event within `waitMs`. */
  async function openStreams(port: number, count: number, waitMs: number): Promise<number> {
    const opened = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const stream = await openRawEventStream({
          port,
          host: 'streams.example.com',
          path: `/events/${index}`,
          marker: 'data: open',
          waitMs,
        });
        sockets.push(stream.socket);
        return stream.outcome === 'open';
      }),
    );
    return opened.filter(Boolean).length;
  }

  it('holds more open streams to one upstream than a pool default would allow (300), with no cap by default', async () => {
    const dataplane = await start();
    expect(await openStreams(dataplane.port, 300, 20_000)).toBe(300);
  });

  it('queues streams beyond DATAPLANE_UPSTREAM_MAX_CONNECTIONS when the operator sets one', async () => {
    const dataplane = await start({ DATAPLANE_UPSTREAM_MAX_CONNECTIONS: '20' });
    expect(await openStreams(dataplane.port, 30, 3_000)).toBe(20);
  });
});
