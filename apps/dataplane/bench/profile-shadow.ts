/**
 * `tsx bench/profile-shadow.ts`: where a shadow policy's cost goes (issue 17). The data plane (dist/main.js, or
 * PROFILE_MAIN) runs the seed policy with and without a shadow beside it (the bench's `seed` and `seed-shadow`
 * targets), alternating, PROFILE_ROUNDS rounds (default 2), each a fresh process under `node --cpu-prof`: 5 s of
 * warm-up, then wrk -c50 for PROFILE_SECONDS (default 10). Only the samples of the measured wrk run count (the profile
 * is cut to that window: boot and warm-up would otherwise drown the difference), divided by the requests wrk made:
 * CPU µs per request by owner and by frame (self time), and the frames the shadow adds (shadow − seed per request).
 * The .cpuprofile files stay in PROFILE_DIR (default a temp directory) for a flame graph.
 */
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { walkthroughPolicy } from '../test/helpers/dataplane-harness.js';
import { Redis } from 'ioredis';
import { type CpuProfile, selfTimes } from './cpuprofile.js';
import { cpuMicros, dropKeys, findNginx, startGatehouse, startNginx } from './targets.js';
import { findWrk, runWrk, writeWrkScript } from './wrk.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const rounds = Number(process.env.PROFILE_ROUNDS ?? 2);
const main = process.env.PROFILE_MAIN;
const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}';

/** Per target: summed per-request self µs (by frame, by owner), the process's own CPU µs/request, req/s. */
interface Totals {
  frames: Map<string, number>;
  owners: Map<string, number>;
  cpu: number[];
  rps: number[];
}

function add(into: Map<string, number>, from: Map<string, number>, scale: number): void {
  for (const [key, value] of from) into.set(key, (into.get(key) ?? 0) + value * scale);
}

async function main_(): Promise<void> {
  const nginx = findNginx();
  if (findWrk() === undefined || nginx === undefined) {
    console.error('needs wrk and nginx: apt-get install wrk nginx-light');
    process.exitCode = 1;
    return;
  }
  const directory = process.env.PROFILE_DIR ?? (await mkdtemp(join(tmpdir(), 'gatehouse-profile-shadow-')));
  const prefix = `gatehouse-profile-shadow-${process.pid}`;
  const upstream = await startNginx(nginx, { upstream: true });
  const config = new TestConfigServer(redisUrl, `${prefix}:config`);
  const token = 'Bearer bench-token-0123456789';
  const totals = new Map<string, Totals>();
  try {
    await config.start();
    await config.upsertCategory({ name: 'com.anthropic.api', cidrs: ['127.0.0.1/32'] });
    await config.upsertEndpoint({
      id: 'ep_internal',
      url: 'https://mcp.example.internal',
      upstream_url: `http://127.0.0.1:${upstream.port}`,
    });
    // As bench/proxy.bench.ts: the seed, and the seed with a shadow whose rate limit is tightened.
    const seed = walkthroughPolicy.replace('capacity: 100', 'capacity: 2000000000');
    await config.upsertEndpoint({ id: 'ep_seed', url: 'https://mcp.example.com', traffic_policy: seed });
    await config.upsertEndpoint({
      id: 'ep_shadow',
      url: 'https://shadow.example.com',
      traffic_policy: seed,
      shadow_policy: seed.replace('capacity: 2000000000', 'capacity: 20000'),
    });
    const targets = [
      { key: 'seed', host: 'mcp.example.com' },
      { key: 'seed-shadow', host: 'shadow.example.com' },
    ];
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const profileDirectory = join(directory, `${target.key}-${round}`);
        await mkdir(profileDirectory, { recursive: true });
        // The profiler starts as node does, a few ms after the spawn: the measured window is placed from here.
        const spawnedAt = performance.now();
        const gatehouse = await startGatehouse({
          env: {
            GATEHOUSE_API_URL: config.url,
            GATEHOUSE_DATAPLANE_TOKEN: config.token,
            REDIS_URL: redisUrl,
            GATEHOUSE_REDIS_PREFIX: prefix,
          },
          readyHost: target.host,
          readyHeaders: { authorization: token },
          nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`],
          ...(main === undefined ? {} : { main }),
        });
        const script = await writeWrkScript(profileDirectory, target.key, {
          body,
          headers: { host: target.host, authorization: token },
        });
        const url = `http://127.0.0.1:${gatehouse.port}/mcp`;
        await runWrk({ url, script, connections: 50, durationSeconds: 5 });
        const cpuBefore = cpuMicros(gatehouse.pid)!;
        const startedAt = performance.now();
        const result = await runWrk({ url, script, connections: 50, durationSeconds: seconds });
        const endedAt = performance.now();
        const cpuAfter = cpuMicros(gatehouse.pid)!;
        await gatehouse.stop();
        const file = (await readdir(profileDirectory)).find((name) => name.endsWith('.cpuprofile'))!;
        const profile = JSON.parse(await readFile(join(profileDirectory, file), 'utf8')) as CpuProfile;
        const { frames, owners } = selfTimes(profile, (startedAt - spawnedAt) * 1000, (endedAt - spawnedAt) * 1000);
        const entry: Totals = totals.get(target.key) ?? { frames: new Map(), owners: new Map(), cpu: [], rps: [] };
        add(entry.frames, frames, 1 / result.requests / rounds);
        add(entry.owners, owners, 1 / result.requests / rounds);
        entry.cpu.push((cpuAfter - cpuBefore) / result.requests);
        entry.rps.push(result.requestsPerSecond);
        totals.set(target.key, entry);
        console.log(
          `round ${round + 1} ${target.key}: ${result.requestsPerSecond.toFixed(0)} req/s, ` +
            `${((cpuAfter - cpuBefore) / result.requests).toFixed(1)} CPU µs/req, load ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    }
  } finally {
    await upstream.stop();
    await config.close();
    // The data planes' request events (no worker consumes them here) and counters, as proxy.bench.ts drops its own.
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await dropKeys(redis, `${prefix}:*`).catch(() => undefined);
    redis.disconnect();
  }
  const seedTotals = totals.get('seed')!;
  const shadowTotals = totals.get('seed-shadow')!;
  const sum = (map: Map<string, number>) => [...map.values()].reduce((total, value) => total + value, 0);
  console.log(
    `\nprofiled busy µs/request (mean of ${rounds}): seed ${sum(seedTotals.owners).toFixed(1)}, ` +
      `seed-shadow ${sum(shadowTotals.owners).toFixed(1)}; profiles in ${directory}\n`,
  );
  const table = (title: string, key: 'frames' | 'owners', count: number) => {
    const keys = new Set([...seedTotals[key].keys(), ...shadowTotals[key].keys()]);
    const rows = [...keys]
      .map((name) => {
        const before = seedTotals[key].get(name) ?? 0;
        const after = shadowTotals[key].get(name) ?? 0;
        return { name, before, after, diff: after - before };
      })
      .sort((left, right) => right.diff - left.diff)
      .slice(0, count);
    console.log(`${title}: seed µs/req, seed-shadow µs/req, added\n`);
    for (const row of rows)
      console.log(
        `${row.before.toFixed(2).padStart(7)} ${row.after.toFixed(2).padStart(7)} ${row.diff.toFixed(2).padStart(7)}  ${row.name}`,
      );
    console.log('');
  };
  table('by owner', 'owners', 20);
  table('by frame (self), most added first', 'frames', 45);
}

main_().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
