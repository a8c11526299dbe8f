import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { measureEventLatencies, printLatencyTable, startBenchDataplane, startUpstream } from './stream-latency.js';

/**
 * Per-chunk latency of a streamed chat completion through ai-gateway (`tsx bench/ai-gateway-streaming.bench.ts`,
 * after `npm run build`; issue 16's target: at most 1 ms added at p50). The provider (bench/llm-sse-upstream.ts) and
 * the data plane run as their own processes; this process is the client. A POST to /v1/chat/completions with
 * `stream: true` is answered with 100 token chunks 2 ms apart; each chunk's latency is its arrival time minus the
 * provider's send stamp. Targets: the provider direct, the data plane forwarding to it (forward-internal), and the
 * data plane's ai-gateway (model resolution, key injection, held first chunk, usage reading on every chunk). The
 * overhead is a target's p50 minus the direct p50.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const streams = Number(process.env.BENCH_STREAMS ?? 30);

const body = JSON.stringify({
  model: 'gpt-4o',
  stream: true,
  messages: [{ role: 'user', content: 'Count to one hundred, one token at a time.' }],
});
const headers = { 'content-type': 'application/json', accept: 'text/event-stream', authorization: 'Bearer client' };

const upstream = await startUpstream('llm-sse-upstream.ts');
const config = new TestConfigServer(redisUrl, CONFIG_CHANNEL);
try {
  await config.start();
  await config.upsertEndpoint({
    id: 'ep_llm_internal',
    url: 'https://llm.example.internal',
    upstream_url: `http://127.0.0.1:${upstream.port}`,
  });
  await config.upsertEndpoint({
    id: 'ep_llm_forward',
    url: 'https://forward.example.com',
    traffic_policy:
      'on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: "https://llm.example.internal" }\n',
  });
  await config.upsertEndpoint({
    id: 'ep_llm_gateway',
    url: 'https://ai.example.com',
    traffic_policy: `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          providers:
            - id: openai
              base_url: http://127.0.0.1:${upstream.port}/v1
              api_keys: [{ value: sk-bench }]
`,
  });
  const dataplane = await startBenchDataplane(config);
  try {
    const measure = (port: number, host: string) =>
      measureEventLatencies({ port, host, path: '/v1/chat/completions', headers, body, streams });
    printLatencyTable(`per-chunk latency, ${streams - 1} streams × 100 chunks (first stream is warm-up)`, [
      ['upstream direct', await measure(upstream.port, 'upstream')],
      ['data plane, forward-internal', await measure(dataplane.port, 'forward.example.com')],
      ['data plane, ai-gateway', await measure(dataplane.port, 'ai.example.com')],
    ]);
  } finally {
    await dataplane.stop();
  }
} finally {
  await config.close();
  upstream.child.kill('SIGTERM');
}
