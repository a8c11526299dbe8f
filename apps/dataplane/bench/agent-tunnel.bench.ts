import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../test/helpers/agent-process.js';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { startDataplaneProcess } from '../test/helpers/dataplane-process.js';
import { findNginx, startNginx, waitAnswering } from './targets.js';
import { findWrk, runWrk, writeWrkScript, type WrkResult } from './wrk.js';

/**
 * Issue 13: the same upstream reached two ways through one data plane process (the build) at 50 keep-alive
 * connections — an internal endpoint the data plane dials (`upstream_url`) and an agent endpoint behind the real
 * `gatehouse-agent` process. The load comes from wrk (C, its own process, one thread) and the upstream is nginx
 * `return 200`, as in proxy.bench.ts. Prints throughput and p99 of both and their ratio per round (BENCH_ROUNDS,
 * default 3, alternating) and the median ratio; asserts nothing. Run:
 * `npx tsx bench/agent-tunnel.bench.ts` after `npm run build`. With `BENCH_CPU_PROF=DIR` the data plane and the agent
 * run under `node --cpu-prof` and write their profiles into DIR when they exit (read them with cpuprofile-summary.ts).
 */
const connections = 50;
const profileDir = process.env.BENCH_CPU_PROF;
// node refuses --cpu-prof in NODE_OPTIONS, so it goes on each command line; profiles are written at graceful exit.
const profiling = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
const durationSeconds = 5;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const nginx = findNginx();
if (findWrk() === undefined || nginx === undefined) {
  console.error('agent tunnel bench: needs wrk and nginx (apt-get install -y wrk nginx-light); skipped');
  process.exit(process.env.BENCH_SKIP_MISSING === '1' ? 0 : 1);
}
const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-bench-agent-'));
const upstream = await startNginx(nginx, { upstream: true });
const upstreamPort = upstream.port;

const config = new TestConfigServer(undefined);
await config.start();
const token = 'gh_bench_token_0123456789';
config.authtokens.set(token, { revoked: false });

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
  { built: true, nodeArgs: profiling },
);
const agent = startAgent(
  [
    'http',
    String(upstreamPort),
    '--url',
    'https://laptop.bench.internal',
    '--authtoken',
    token,
    '--connect-url',
    `http://127.0.0.1:${dataplane.port}`,
  ],
  {},
  profiling,
);
await agent.waitFor((line) => line.msg === 'endpoint online');

const target = `http://127.0.0.1:${dataplane.port}/`;
await waitAnswering(target, { host: 'agent.example.com' }, 200);
await waitAnswering(target, { host: 'direct.example.com' }, 200);

const scripts = new Map<string, string>();
for (const host of ['direct.example.com', 'agent.example.com'])
  scripts.set(
    host,
    await writeWrkScript(scratch, host, { body: '{"jsonrpc":"2.0","id":1,"method":"ping"}', headers: { host } }),
  );
const measure = (host: string, seconds: number): Promise<WrkResult> =>
  runWrk({ url: target, script: scripts.get(host)!, connections, durationSeconds: seconds });
// A short unmeasured run of each first: the first seconds after a start are several times slower (JIT, pools).
await measure('direct.example.com', 2);
await measure('agent.example.com', 2);
const row = (name: string, result: WrkResult) =>
  `${name.padEnd(22)} ${result.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  socket errors ${result.socketErrors}  status >= 400 ${result.badStatus}`;
console.log(
  `\nAgent tunnel vs direct upstream_url, wrk -t1 -c${connections}, ${durationSeconds} s each, ${rounds} alternating rounds`,
);
// The machine is shared: the load moves between runs, so each round is a direct run right next to a tunnel run and
// the ratio is taken within the round; the median of the rounds is the figure, the spread says how much to trust it.
const ratios: number[] = [];
const addedP99: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const direct = await measure('direct.example.com', durationSeconds);
  const tunnel = await measure('agent.example.com', durationSeconds);
  ratios.push(tunnel.requestsPerSecond / direct.requestsPerSecond);
  addedP99.push(tunnel.p99Ms - direct.p99Ms);
  console.log(`round ${round}, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(row('  direct (upstream_url)', direct));
  console.log(row('  agent tunnel', tunnel));
  console.log(`  tunnel/direct throughput ${ratios.at(-1)!.toFixed(2)}x; added p99 ${addedP99.at(-1)!.toFixed(2)} ms`);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  `tunnel/direct throughput median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}; target >= 0.7x); added p99 median ${median(addedP99).toFixed(2)} ms`,
);

await agent.kill('SIGTERM');
await dataplane.stop();
await upstream.stop();
await config.close();
await rm(scratch, { recursive: true, force: true });
