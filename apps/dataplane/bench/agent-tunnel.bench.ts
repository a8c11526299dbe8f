import { spawn } from 'node:child_process';
import { startAgent } from '../test/helpers/agent-process.js';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { startDataplaneProcess } from '../test/helpers/dataplane-process.js';
import { runLoad, type LoadResult } from './load.js';

/**
 * Issue 13: the same upstream reached two ways through one data plane process (the build) at 50 keep-alive
 * connections — an internal endpoint the data plane dials (`upstream_url`) and an agent endpoint behind the real
 * `gatehouse-agent` process — with the load generated here, in a process of its own. Prints throughput and p99 of
 * both and their ratio; asserts nothing. Run: `npx tsx bench/agent-tunnel.bench.ts` after `npm run build`.
 */
const connections = 50;
const warmupMs = 1_000;
const durationMs = 5_000;

const config = new TestConfigServer(undefined);
await config.start();
const token = 'gh_bench_token_0123456789';
config.authtokens.set(token, { revoked: false });

const upstreamProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/upstream-server.ts'], {
  cwd: new URL('..', import.meta.url).pathname,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const upstreamPort = await new Promise<number>((resolve) =>
  upstreamProcess.stdout.once('data', (text: Buffer) =>
    resolve((JSON.parse(text.toString()) as { port: number }).port),
  ),
);
const forwardTo = (url: string) =>
  `on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "${url}" } }]\n`;
await config.upsertEndpoint({
  id: 'ep_direct',
  url: 'https://direct.bench.internal',
  upstream_url: `http://127.0.0.1:${upstreamPort}`,
});
await config.upsertEndpoint({
  id: 'ep_gw_direct',
  url: 'http://direct.example.com',
  traffic_policy: forwardTo('https://direct.bench.internal'),
});
await config.upsertEndpoint({
  id: 'ep_gw_agent',
  url: 'http://agent.example.com',
  traffic_policy: forwardTo('https://laptop.bench.internal'),
});

const dataplane = await startDataplaneProcess(
  {
    GATEHOUSE_API_URL: config.url,
    GATEHOUSE_DATAPLANE_TOKEN: config.token,
    DATAPLANE_HEARTBEAT_INTERVAL_MS: '300',
    LOG_LEVEL: 'info',
  },
  { built: true },
);
const agent = startAgent([
  'http',
  String(upstreamPort),
  '--url',
  'https://laptop.bench.internal',
  '--authtoken',
  token,
  '--connect-url',
  `http://127.0.0.1:${dataplane.port}`,
]);
await agent.waitFor((line) => line.msg === 'endpoint online');

const target = `http://127.0.0.1:${dataplane.port}`;
for (let attempt = 0; ; attempt++) {
  const probe = await runLoad({
    url: target,
    path: '/',
    headers: { host: 'agent.example.com' },
    connections: 1,
    warmupMs: 0,
    durationMs: 200,
    maxRequests: 5,
  });
  if (probe.statuses.get(200) !== undefined) break;
  if (attempt > 50) throw new Error('the agent endpoint never answered 200');
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const measure = (host: string): Promise<LoadResult> =>
  runLoad({ url: target, path: '/', headers: { host }, connections, warmupMs, durationMs });
const direct = await measure('direct.example.com');
const tunnel = await measure('agent.example.com');
const row = (name: string, result: LoadResult) =>
  `${name.padEnd(22)} ${result.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}  non-200 ${result.requests - (result.statuses.get(200) ?? 0)}`;
console.log(`\nAgent tunnel vs direct upstream_url, ${connections} connections, ${durationMs / 1000} s each`);
console.log(row('direct (upstream_url)', direct));
console.log(row('agent tunnel', tunnel));
console.log(
  `tunnel/direct throughput ${(tunnel.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}x (target >= 0.7x); added p99 ${(tunnel.p99Ms - direct.p99Ms).toFixed(2)} ms`,
);

await agent.kill('SIGTERM');
await dataplane.stop();
upstreamProcess.kill();
await config.close();
