import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgent, type AgentProcess } from '../test/helpers/agent-process.js';
import { agentBenchConfig, agentBenchToken, gatewayTo } from './agent-bench-config.js';
import { cpuMicros, findNginx, startGatehouse, startNginx, waitAnswering, type RunningTarget } from './targets.js';
import { findWrk, runWrk, writeWrkScript, type WrkResult } from './wrk.js';

/**
 * Two builds of the tunnel in one run: `npx tsx bench/agent-tunnel-ab.ts [BASE_DATAPLANE_MAIN BASE_AGENT_MAIN]`.
 * The base is a data plane build plus an agent build (default dist-base/main.js of each app: copy `dist` there before
 * changing the code); the candidate is this checkout's dist. Each pair runs its own data plane and agent process in
 * front of the same nginx, and every round drives, with wrk -c50 one after the other, direct `upstream_url` and the
 * tunnel through one pair, then the same through the other (base first in odd rounds, candidate first in even ones),
 * so all four see the same machine and neither build gains from its position. Prints req/s, each build's
 * tunnel/direct ratio (against the direct path through its own data plane) and CPU microseconds per request summed
 * over data plane + agent (utime+stime from /proc), per round and as medians. With AB_PROFILE=DIR only the candidate
 * tunnel runs, for AB_SECONDS, under `node --cpu-prof` (data plane and agent), and the profiles land in DIR.
 */
const connections = 50;
const seconds = Number(process.env.AB_SECONDS ?? 5);
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const profileDir = process.env.AB_PROFILE;
// AB_PROFILE=perf: no --cpu-prof; the pids are printed for `perf record -p` while the candidate runs.
const profiling =
  profileDir === undefined || profileDir === 'perf' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const baseDataplane = process.argv[2] ?? join(appDirectory, 'dist-base/main.js');
const baseAgent = process.argv[3] ?? join(appDirectory, '../agent/dist-base/main.js');

const nginx = findNginx();
if (findWrk() === undefined || nginx === undefined) throw new Error('needs wrk and nginx');
const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-bench-ab-'));
const upstream = await startNginx(nginx, { upstream: true });
const config = await agentBenchConfig();
const token = agentBenchToken;
await config.upsertEndpoint({
  id: 'ep_direct',
  url: 'https://direct.bench.internal',
  upstream_url: `http://127.0.0.1:${upstream.port}`,
});
await gatewayTo(config, 'ep_gw_direct', 'direct.example.com', 'https://direct.bench.internal');
for (const variant of ['base', 'new'])
  await gatewayTo(config, `ep_gw_${variant}`, `${variant}.example.com`, `https://${variant}.bench.internal`);

const env = {
  GATEHOUSE_API_URL: config.url,
  GATEHOUSE_DATAPLANE_TOKEN: config.token,
  DATAPLANE_HEARTBEAT_INTERVAL_MS: '300',
};
interface Pair {
  name: string;
  dataplane: RunningTarget;
  agent: AgentProcess;
}
async function startPair(
  name: string,
  dataplaneMain: string,
  agentMain: string,
  nodeArgs: string[],
  agentNodeArgs: string[] = [],
): Promise<Pair> {
  const dataplane = await startGatehouse({
    env,
    readyHost: 'direct.example.com',
    readyHeaders: {},
    nodeArgs,
    main: dataplaneMain,
  });
  const agent = startAgent(
    [
      'http',
      String(upstream.port),
      '--url',
      `https://${name}.bench.internal`,
      '--authtoken',
      token,
      '--connect-url',
      `http://127.0.0.1:${dataplane.port}`,
    ],
    {},
    [...nodeArgs, ...agentNodeArgs],
    agentMain,
  );
  await agent.waitFor((line) => line.msg === 'endpoint online');
  await waitAnswering(`http://127.0.0.1:${dataplane.port}/`, { host: `${name}.example.com` }, 200);
  return { name, dataplane, agent };
}

const pairs: Pair[] = [];
if (profileDir === undefined) pairs.push(await startPair('base', baseDataplane, baseAgent, []));
// AB_NEW_NODE_ARGS: extra node flags for the candidate's two processes (a V8 flag, say), space-separated;
// AB_NEW_AGENT_NODE_ARGS: for the candidate's agent alone.
const words = (text: string | undefined) => (text ?? '').split(' ').filter(Boolean);
const candidateArgs = [...profiling, ...words(process.env.AB_NEW_NODE_ARGS)];
pairs.push(
  await startPair(
    'new',
    join(appDirectory, 'dist/main.js'),
    join(appDirectory, '../agent/dist/main.js'),
    candidateArgs,
    words(process.env.AB_NEW_AGENT_NODE_ARGS),
  ),
);
const candidate = pairs.at(-1)!;

const scripts = new Map<string, string>();
for (const host of ['direct.example.com', 'base.example.com', 'new.example.com'])
  scripts.set(
    host,
    await writeWrkScript(scratch, host, {
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      headers: { host },
      // AB_RATE: requests per second in all (wrk paces its thread), so CPU per request compares at the same
      // batching whatever else the machine runs: at full speed a slowed run packs fewer requests per event-loop turn,
      // which costs more CPU per request by itself.
      ...(process.env.AB_RATE === undefined ? {} : { ratePerSecond: Number(process.env.AB_RATE) }),
    }),
  );
type Measured = WrkResult & { dataplaneUs: number; agentUs: number };
async function measure(pair: Pair, host: string, duration: number): Promise<Measured> {
  const before = [cpuMicros(pair.dataplane.pid) ?? 0, cpuMicros(pair.agent.pid) ?? 0];
  const result = await runWrk({
    url: `http://127.0.0.1:${pair.dataplane.port}/`,
    script: scripts.get(host)!,
    connections,
    durationSeconds: duration,
  });
  const after = [cpuMicros(pair.dataplane.pid) ?? 0, cpuMicros(pair.agent.pid) ?? 0];
  const requests = Math.max(1, result.requests);
  return { ...result, dataplaneUs: (after[0]! - before[0]!) / requests, agentUs: (after[1]! - before[1]!) / requests };
}
const row = (name: string, result: Measured) =>
  `  ${name.padEnd(14)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s  cpu ${(result.dataplaneUs + result.agentUs).toFixed(0).padStart(4)} us/req (data plane ${result.dataplaneUs.toFixed(0)}, agent ${result.agentUs.toFixed(0)})  p99 ${result.p99Ms.toFixed(1)} ms  errors ${result.socketErrors + result.badStatus}`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

if (profileDir !== undefined) {
  // AB_PROFILE_HOST=direct profiles the direct path through the same data plane instead.
  const host = `${process.env.AB_PROFILE_HOST ?? 'new'}.example.com`;
  await measure(candidate, host, 2);
  console.log(JSON.stringify({ dataplane: candidate.dataplane.pid, agent: candidate.agent.pid }));
  const result = await measure(candidate, host, seconds);
  console.log(row(host, result));
} else {
  for (const pair of pairs) {
    await measure(pair, `${pair.name}.example.com`, 2);
    await measure(pair, 'direct.example.com', 2);
  }
  // Each build's tunnel is compared with the direct path through its own data plane: a change to the data plane's
  // request path moves both, and the ratio is what the tunnel costs on top.
  const cpu = { directBase: [] as number[], directNew: [] as number[], base: [] as number[], new: [] as number[] };
  const throughput = {
    directBase: [] as number[],
    directNew: [] as number[],
    base: [] as number[],
    new: [] as number[],
  };
  const baseline = pairs[0]!;
  for (let round = 1; round <= rounds; round++) {
    // The machine's state drifts within a round, which could favour whichever pair always went second, so the order
    // alternates: odd rounds start with the base, even rounds with the candidate. (Runs with slicing off read
    // 0.95-1.09x between the two pairs: that is the noise to beat.)
    const order = round % 2 === 1 ? [baseline, candidate] : [candidate, baseline];
    const measured = new Map<Pair, [Measured, Measured]>();
    for (const pair of order)
      measured.set(pair, [
        await measure(pair, 'direct.example.com', seconds),
        await measure(pair, `${pair.name}.example.com`, seconds),
      ]);
    const [directBase, base] = measured.get(baseline)!;
    const [directNew, fresh] = measured.get(candidate)!;
    console.log(`round ${round} (${order[0]!.name} first), load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(row('base direct', directBase));
    console.log(row('base tunnel', base));
    console.log(row('new direct', directNew));
    console.log(row('new tunnel', fresh));
    console.log(
      `  tunnel/direct: base ${(base.requestsPerSecond / directBase.requestsPerSecond).toFixed(2)}x, ` +
        `new ${(fresh.requestsPerSecond / directNew.requestsPerSecond).toFixed(2)}x`,
    );
    for (const [key, result] of [
      ['directBase', directBase],
      ['directNew', directNew],
      ['base', base],
      ['new', fresh],
    ] as const) {
      cpu[key].push(result.dataplaneUs + result.agentUs);
      throughput[key].push(result.requestsPerSecond);
    }
  }
  const fixed = (values: number[], digits: number) => median(values).toFixed(digits);
  // Per round, one series over another (neighbouring windows share the machine's state best).
  const perRound = (next: number[], previous: number[]) => next.map((value, index) => value / previous[index]!);
  const paired = (next: number[], previous: number[]) => `${fixed(perRound(next, previous), 2)}x`;
  const cpuRatios = perRound(cpu.new, cpu.base);
  console.log(
    `median of ${rounds}: tunnel/direct base ${paired(throughput.base, throughput.directBase)}, ` +
      `new ${paired(throughput.new, throughput.directNew)}; ` +
      `req/s direct base ${fixed(throughput.directBase, 0)}, new ${fixed(throughput.directNew, 0)}; ` +
      `tunnel base ${fixed(throughput.base, 0)}, new ${fixed(throughput.new, 0)}; ` +
      `cpu us/req direct base ${fixed(cpu.directBase, 0)}, new ${fixed(cpu.directNew, 0)}; ` +
      `tunnel base ${fixed(cpu.base, 0)}, new ${fixed(cpu.new, 0)}; ` +
      `new/base tunnel cpu per round: median ${median(cpuRatios).toFixed(2)}x (${cpuRatios.map((ratio) => ratio.toFixed(2)).join(' ')}); ` +
      `new/base req/s per round: tunnel ${paired(throughput.new, throughput.base)}, direct ${paired(throughput.directNew, throughput.directBase)}`,
  );
}

for (const pair of pairs) {
  await pair.agent.kill('SIGTERM');
  await pair.dataplane.stop();
}
await upstream.stop();
await config.close();
await rm(scratch, { recursive: true, force: true });
