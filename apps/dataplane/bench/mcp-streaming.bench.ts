import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { measureEventLatencies, printLatencyTable, startBenchDataplane, startUpstream } from './stream-latency.js';

/**
 * Per-event latency of a streamed MCP tool call (`tsx bench/mcp-streaming.bench.ts`, after `npm run build`): a POST
 * with a JSON-RPC tools/call body (so the data plane parses it), answered with 100 SSE events 2 ms apart; each event's
 * latency is its arrival time minus the upstream's send stamp. Targets: the upstream direct, the data plane with a
 * forward-only policy, and with an mcp-tools policy (every event passes the list filter). The overhead is a target's
 * p50 minus the direct p50.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const streams = Number(process.env.BENCH_STREAMS ?? 30);

const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'countdown', arguments: { text: 'x'.repeat(1_000) } },
});
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const upstream = await startUpstream('sse-upstream.ts');
const config = new TestConfigServer(redisUrl, CONFIG_CHANNEL);
try {
  await config.start();
  await config.upsertEndpoint({
    id: 'ep_stream_internal',
    url: 'https://stream.example.internal',
    upstream_url: `http://127.0.0.1:${upstream.port}`,
  });
  const forward =
    '  - actions:\n      - type: forward-internal\n        config: { url: "https://stream.example.internal" }\n';
  await config.upsertEndpoint({
    id: 'ep_stream_forward',
    url: 'https://forward.example.com',
    traffic_policy: `on_http_request:\n${forward}`,
  });
  await config.upsertEndpoint({
    id: 'ep_stream_tools',
    url: 'https://tools.example.com',
    traffic_policy: `on_http_request:\n  - actions:\n      - type: mcp-tools\n        config: { tools: { deny: [danger] } }\n${forward}`,
  });
  const dataplane = await startBenchDataplane(config);
  try {
    const measure = (port: number, host: string) =>
      measureEventLatencies({ port, host, path: '/mcp', headers, body, streams });
    printLatencyTable(`per-event latency, ${streams - 1} streams × 101 events (first stream is warm-up)`, [
      ['upstream direct', await measure(upstream.port, 'upstream')],
      ['data plane, forward-only', await measure(dataplane.port, 'forward.example.com')],
      ['data plane, mcp-tools filter', await measure(dataplane.port, 'tools.example.com')],
    ]);
  } finally {
    await dataplane.stop();
  }
} finally {
  await config.close();
  upstream.child.kill('SIGTERM');
}
