import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { request } from 'undici';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { freePort } from '../test/helpers/redis-process.js';

/**
 * Per-chunk latency of a streamed chat completion through ai-gateway (`tsx bench/ai-gateway-streaming.bench.ts`,
 * after `npm run build`; issue 16's target: at most 1 ms added at p50). The provider (bench/llm-sse-upstream.ts) and
 * the data plane run as their own processes; this process is the client. A POST to /v1/chat/completions with
 * `stream: true` is answered with 100 token chunks 2 ms apart; each chunk's latency is its arrival time minus the
 * provider's send stamp. Targets: the provider direct, the data plane forwarding to it (forward-internal), and the
 * data plane's ai-gateway (model resolution, key injection, held first chunk, usage reading on every chunk). The
 * overhead is a target's p50 minus the direct p50.
 */
const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const streams = Number(process.env.BENCH_STREAMS ?? 30);
const children: ChildProcess[] = [];
const now = () => performance.timeOrigin + performance.now();

function spawnProcess(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: appDirectory,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
}

async function portOf(child: ChildProcess): Promise<number> {
  let output = '';
  for await (const chunk of child.stdout!) {
    output += (chunk as Buffer).toString('utf8');
    const match = /"port":(\d+)/.exec(output);
    if (match !== null) return Number(match[1]);
  }
  throw new Error('no port');
}

const body = JSON.stringify({
  model: 'gpt-4o',
  stream: true,
  messages: [{ role: 'user', content: 'Count to one hundred, one token at a time.' }],
});

/** Latencies (ms) of every event of `streams` sequential calls; undefined when the target refuses the call. */
async function measure(port: number, host: string): Promise<number[] | undefined> {
  const latencies: number[] = [];
  for (let index = 0; index < streams; index++) {
    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        host,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: 'Bearer client',
      },
      body,
    });
    if (response.statusCode !== 200) {
      await response.body.text();
      return undefined;
    }
    let pending = '';
    for await (const chunk of response.body) {
      const arrived = now();
      pending += (chunk as Buffer).toString('utf8');
      let end = pending.indexOf('\n\n');
      while (end !== -1) {
        const sent = /"sent":([\d.]+)/.exec(pending.slice(0, end));
        if (sent !== null && index > 0) latencies.push(arrived - Number(sent[1]));
        pending = pending.slice(end + 2);
        end = pending.indexOf('\n\n');
      }
    }
  }
  return latencies.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const upstream = spawnProcess(['--import', 'tsx', 'bench/llm-sse-upstream.ts']);
  const upstreamPort = await portOf(upstream);
  const config = new TestConfigServer(redisUrl, CONFIG_CHANNEL);
  await config.start();
  await config.upsertEndpoint({
    id: 'ep_llm_internal',
    url: 'https://llm.example.internal',
    upstream_url: `http://127.0.0.1:${upstreamPort}`,
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
              base_url: http://127.0.0.1:${upstreamPort}/v1
              api_keys: [{ value: sk-bench }]
`,
  });
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-ai-'));
  const port = await freePort();
  const adminPort = await freePort();
  spawnProcess(['dist/main.js'], {
    DATAPLANE_HOST: '127.0.0.1',
    DATAPLANE_PORT: String(port),
    DATAPLANE_ADMIN_PORT: String(adminPort),
    GATEHOUSE_API_URL: config.url,
    GATEHOUSE_DATAPLANE_TOKEN: config.token,
    GATEHOUSE_DATA_DIR: dataDirectory,
    LOG_LEVEL: 'warn',
  });
  for (let attempt = 0; ; attempt++) {
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
    if (ready?.statusCode === 200) break;
    await ready?.body.text();
    if (attempt > 300) throw new Error('the data plane did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const direct = (await measure(upstreamPort, 'upstream'))!;
  const rows: [string, number[] | undefined][] = [
    ['upstream direct', direct],
    ['data plane, forward-internal', await measure(port, 'forward.example.com')],
    ['data plane, ai-gateway', await measure(port, 'ai.example.com')],
  ];
  console.log(`per-chunk latency, ${streams - 1} streams × 100 chunks (first stream is warm-up)\n`);
  console.log('| target | p50 ms | p99 ms | p50 overhead ms |');
  console.log('|---|---:|---:|---:|');
  for (const [name, latencies] of rows) {
    if (latencies === undefined) {
      console.log(`| ${name} | n/a | n/a | n/a |`);
      continue;
    }
    const p50 = percentile(latencies, 0.5);
    console.log(
      `| ${name} | ${p50.toFixed(3)} | ${percentile(latencies, 0.99).toFixed(3)} | ${(p50 - percentile(direct, 0.5)).toFixed(3)} |`,
    );
  }
  await config.close();
  await rm(dataDirectory, { recursive: true, force: true });
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
