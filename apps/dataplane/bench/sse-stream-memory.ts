import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { startDataplaneProcess } from '../test/helpers/dataplane-process.js';
import { openRawEventStream } from '../test/helpers/raw-event-stream.js';
import { createMemoryProbe } from './process-memory.js';

/**
 * Issue 18: data-plane memory per idle MCP SSE stream (target ≤ 20 KB). One data plane process (the build) holds N
 * `GET /mcp` event streams that a client opened through a cloud endpoint whose policy forwards to an internal
 * endpoint, as in the MCP walkthrough; the upstream sends one comment and then nothing. The data plane's heap after a
 * full GC and its RSS are read before and with the streams, and the difference is divided by N.
 *
 * N defaults to 9,000, not the 10,000: each stream holds two sockets in the data plane (client and upstream),
 * and this machine's hard limit is 20,000 open files per process. Clients and the upstream live in this process
 * (their memory is not measured). Run: `npx tsx bench/sse-stream-memory.ts` after `npm run build`.
 */
const streamCount = Number(process.env.BENCH_SSE_STREAMS ?? 9_000);
const host = 'sse.bench.example.com';

const held: ServerResponse[] = [];
const upstream = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': open\n\n');
  held.push(res);
});
upstream.maxConnections = streamCount + 100;
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const upstreamPort = (upstream.address() as AddressInfo).port;

const memory = await createMemoryProbe();
const config = new TestConfigServer(undefined);
await config.start();
await config.upsertEndpoint({
  id: 'ep_public',
  url: `https://${host}`,
  traffic_policy: `on_http_request:
  - name: MCP clients only
    expressions: ["req.url.path.startsWith('/mcp')"]
    actions:
      - type: forward-internal
        config: { url: "https://sse.bench.internal" }
  - actions:
      - type: deny
        config: { status_code: 404 }
`,
});
await config.upsertEndpoint({
  id: 'ep_internal',
  url: 'https://sse.bench.internal',
  type: 'internal',
  upstream_url: `http://127.0.0.1:${upstreamPort}`,
});
const dataplane = await startDataplaneProcess(
  {
    GATEHOUSE_API_URL: config.url,
    GATEHOUSE_DATAPLANE_TOKEN: config.token,
    DATAPLANE_HEARTBEAT_INTERVAL_MS: '60000',
    NODE_OPTIONS: memory.nodeOptions,
  },
  { built: true },
);
memory.attach(dataplane.child.pid!, dataplane.adminPort);

/** One idle event stream through the gateway; resolves once the upstream's first bytes arrived. */
async function openStream(): Promise<Socket> {
  const stream = await openRawEventStream({
    port: dataplane.port,
    host,
    path: '/mcp',
    headers: { 'mcp-session-id': 'bench' },
    marker: ': open',
    waitMs: 30_000,
  });
  if (stream.outcome === 'open') return stream.socket;
  stream.socket.destroy();
  throw new Error(`stream ${stream.outcome}: ${stream.received.slice(0, 300)}`);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));
// Warm the path up (JIT, pools, the request-event sink) so the baseline is a serving data plane, not a cold one.
try {
  for (const socket of await Promise.all(Array.from({ length: 50 }, () => openStream()))) socket.destroy();
} catch (error) {
  console.error(dataplane.output().slice(-3000));
  throw error;
}
await settle();
const heapBefore = await memory.heapAfterFullGc();
await settle();
const rssBefore = await memory.rss();
const sockets: Socket[] = [];
const started = Date.now();
for (let index = 0; index < streamCount; index += 200) {
  const batch = Array.from({ length: Math.min(200, streamCount - index) }, () => openStream());
  sockets.push(...(await Promise.all(batch)));
}
const openedMs = Date.now() - started;
await settle();
const rssWith = await memory.rss();
const heapWith = await memory.heapAfterFullGc();
const openUpstream = held.filter((res) => !res.writableEnded && !res.destroyed).length;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const perStream = (bytes: number) => `${(bytes / streamCount / 1024).toFixed(1)} KB per stream`;
console.log(`\nData-plane memory per idle MCP SSE stream, ${streamCount} streams (opened in ${openedMs} ms)`);
console.log(`upstream responses still open: ${openUpstream}`);
console.log(
  `heap after full GC: ${mb(heapBefore)} before, ${mb(heapWith)} with = ${perStream(heapWith - heapBefore)} (target <= 20 KB)`,
);
console.log(
  `RSS: ${mb(rssBefore)} before, ${mb(rssWith)} with = ${perStream(rssWith - rssBefore)} (JS heap, socket buffers, allocator slack)`,
);

for (const socket of sockets) socket.destroy();
await dataplane.stop();
await config.close();
upstream.closeAllConnections();
upstream.close();
await memory.close();
