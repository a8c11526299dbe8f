/**
 * `npm run bench:profile -w @gatehouse/dataplane`: the forward-only data plane (dist/main.js, one worker) under wrk
 * (50 connections, PROFILE_SECONDS, default 15) with `node --cpu-prof`, then the profile summarised by self time
 * (bench/cpuprofile-summary.ts). The .cpuprofile stays in PROFILE_DIR (default a temp directory) for a flame graph
 * (open it in Chrome DevTools' Performance panel or speedscope).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { dropKeys, findNginx, startGatehouse, startNginx } from './targets.js';
import { findWrk, runWrk, writeWrkScript } from './wrk.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const seconds = Number(process.env.PROFILE_SECONDS ?? 15);
const appDirectory = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<void> {
  const nginx = findNginx();
  if (findWrk() === undefined || nginx === undefined) {
    console.error('needs wrk and nginx: apt-get install wrk nginx-light');
    process.exitCode = 1;
    return;
  }
  const directory = process.env.PROFILE_DIR ?? (await mkdtemp(join(tmpdir(), 'gatehouse-profile-')));
  await mkdir(directory, { recursive: true });
  const prefix = `gatehouse-profile-${process.pid}`;
  const upstream = await startNginx(nginx, { upstream: true });
  const config = new TestConfigServer(redisUrl, `${prefix}:config`);
  try {
    await config.start();
    await config.upsertEndpoint({
      id: 'ep_internal',
      url: 'https://mcp.example.internal',
      upstream_url: `http://127.0.0.1:${upstream.port}`,
    });
    await config.upsertEndpoint({
      id: 'ep_forward',
      url: 'https://forward.example.com',
      traffic_policy:
        'on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: "https://mcp.example.internal" }\n',
    });
    const gatehouse = await startGatehouse({
      env: {
        GATEHOUSE_API_URL: config.url,
        GATEHOUSE_DATAPLANE_TOKEN: config.token,
        REDIS_URL: redisUrl,
        GATEHOUSE_REDIS_PREFIX: prefix,
      },
      readyHost: 'forward.example.com',
      readyHeaders: {},
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${directory}`],
    });
    const script = await writeWrkScript(directory, 'forward', {
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}',
      headers: { host: 'forward.example.com' },
    });
    const result = await runWrk({
      url: `http://127.0.0.1:${gatehouse.port}/mcp`,
      script,
      connections: 50,
      durationSeconds: seconds,
    });
    console.log(
      `forward-only under wrk -c50 for ${seconds} s: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.badStatus} non-2xx`,
    );
    await gatehouse.stop();
  } finally {
    await upstream.stop();
    await config.close();
    // The run's request events (no worker consumes them here: ~50 MB for 10 s of load) and counters, as the other
    // benches drop theirs; left behind they stayed in the machine's Redis for the next test run.
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await dropKeys(redis, `${prefix}:*`).catch(() => undefined);
    redis.disconnect();
  }
  const profile = (await readdir(directory)).find((file) => file.endsWith('.cpuprofile'));
  if (profile === undefined) throw new Error(`no .cpuprofile in ${directory}`);
  console.log(`profile: ${join(directory, profile)}\n`);
  const summary = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/cpuprofile-summary.ts', join(directory, profile), '40'],
    {
      cwd: appDirectory,
      stdio: 'inherit',
    },
  );
  await once(summary, 'exit');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
