/**
 * Boot A/B (issue 18 item 5): `tsx bench/boot-ab.ts APP_DIR... [--rounds N]` boots each built data plane
 * (`APP_DIR/dist/main.js`) in turn, round after round, so every build sees the same machine load:
 *  - from a last-known-good file with 10,000 endpoints (each its own walkthrough-size policy) and the API down:
 *    process start → `/readyz` 200, and → the first request answered by its policy;
 *  - with an empty data directory: process start → `/healthz` 200 (node, the modules, listening).
 * Prints median (min–max) per build and the load average before and after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from '../test/helpers/redis-process.js';
import { loadEndpoint, loadEndpointCount } from './load-endpoints.js';

const endpointCount = loadEndpointCount;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt === -1 ? 7 : Number(args.splice(roundsAt, 2)[1]);
const appDirectories = args.map((directory) => resolve(directory));
if (appDirectories.length === 0) {
  console.error('usage: tsx bench/boot-ab.ts APP_DIR... [--rounds N]');
  process.exit(2);
}
const children: ChildProcess[] = [];

/** The file a data plane writes (last-known-good.ts), built directly, with the 10,000 endpoints of load-endpoints.ts. */
async function writeSnapshot(path: string): Promise<void> {
  const endpoints = Array.from({ length: endpointCount }, (_, index) => loadEndpoint(index));
  const snapshot = { revision: endpointCount, generated_at: new Date().toISOString(), endpoints, ip_categories: [] };
  await writeFile(path, JSON.stringify({ format: 1, etag: `"rev-${endpointCount}"`, snapshot }));
}

async function waitFor(url: string): Promise<void> {
  for (let attempt = 0; attempt < 6_000; attempt++) {
    try {
      const response = await request(url);
      await response.body.dump();
      if (response.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${url} never answered 200`);
}

interface Boot {
  readyMs: number;
  servedMs: number;
  /** CPU the process used until ready (utime + stime, all its threads): far less sensitive to machine load than wall time. */
  readyCpuMs: number;
  /**
   * The same for its main thread alone (no GC helpers, no libuv pool): what the boot's critical path computed, close
   * to the wall time on an idle machine.
   */
  readyMainCpuMs: number;
}

/** utime + stime in ms from a /proc stat file (fields 14 and 15, counted after the parenthesized name; 100 Hz ticks). */
async function cpuMs(statPath: string): Promise<number> {
  const fields = (await readFile(statPath, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function boot(appDirectory: string, dataDirectory: string, withSnapshot: boolean): Promise<Boot> {
  const port = await freePort();
  const adminPort = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: appDirectory,
    env: {
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '32768',
      ...process.env,
      DATAPLANE_HOST: '127.0.0.1',
      GATEHOUSE_API_URL: `http://127.0.0.1:${await freePort()}`,
      GATEHOUSE_DATAPLANE_TOKEN: 'boot-bench-token-0123456789abcdef0123456789',
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'warn',
      DATAPLANE_WORKERS: '1',
      GATEHOUSE_DATA_DIR: dataDirectory,
      DATAPLANE_PORT: String(port),
      DATAPLANE_ADMIN_PORT: String(adminPort),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitFor(`http://127.0.0.1:${adminPort}/${withSnapshot ? 'readyz' : 'healthz'}`);
  const readyMs = performance.now() - started;
  const readyCpuMs = await cpuMs(`/proc/${child.pid}/stat`);
  const readyMainCpuMs = await cpuMs(`/proc/${child.pid}/task/${child.pid}/stat`);
  let servedMs = Number.NaN;
  if (withSnapshot) {
    const host = `tenant-${Math.floor(Math.random() * endpointCount)}.example.com`;
    const response = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
    await response.body.dump();
    if (response.statusCode === 404 || response.statusCode >= 500)
      throw new Error(`${host} answered ${response.statusCode}`);
    servedMs = performance.now() - started;
  }
  child.kill('SIGTERM');
  await once(child, 'exit');
  return { readyMs, servedMs, readyCpuMs, readyMainCpuMs };
}

function spread(values: number[], digits = 3): string {
  const sorted = [...values].sort((left, right) => left - right);
  const at = (value: number) => (value / 1000).toFixed(digits);
  return `${at(sorted[Math.floor(sorted.length / 2)]!)} (${at(sorted[0]!)}–${at(sorted.at(-1)!)})`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gatehouse-boot-ab-'));
  try {
    const snapshotFile = join(work, 'snapshot.json');
    await writeSnapshot(snapshotFile);
    const results = appDirectories.map(() => ({
      ready: [] as number[],
      served: [] as number[],
      readyCpu: [] as number[],
      readyMainCpu: [] as number[],
      bare: [] as number[],
      bareCpu: [] as number[],
      bareMainCpu: [] as number[],
    }));
    console.log(
      `load average before: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    for (let round = 0; round < rounds; round++) {
      // Alternate the order each round so neither build always boots right after the other.
      const order = appDirectories.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) {
        const dataDirectory = await mkdtemp(join(work, 'data-'));
        // A fresh copy each boot: a boot may write its own file back.
        await copyFile(snapshotFile, join(dataDirectory, 'dataplane-last-known-good.json'));
        const loaded = await boot(appDirectories[index]!, dataDirectory, true);
        results[index]!.ready.push(loaded.readyMs);
        results[index]!.served.push(loaded.servedMs);
        results[index]!.readyCpu.push(loaded.readyCpuMs);
        results[index]!.readyMainCpu.push(loaded.readyMainCpuMs);
        const emptyDirectory = await mkdtemp(join(work, 'empty-'));
        const bare = await boot(appDirectories[index]!, emptyDirectory, false);
        results[index]!.bare.push(bare.readyMs);
        results[index]!.bareCpu.push(bare.readyCpuMs);
        results[index]!.bareMainCpu.push(bare.readyMainCpuMs);
      }
    }
    console.log(
      `load average after: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    console.log(`\n${rounds} rounds, seconds, median (min–max):`);
    console.log(
      '| build | start → /readyz (10k endpoints, LKG) | its CPU | main thread | start → first answer | bare start → /healthz | its CPU | main thread |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    appDirectories.forEach((directory, index) => {
      const result = results[index]!;
      console.log(
        `| ${directory} | ${spread(result.ready)} | ${spread(result.readyCpu, 2)} | ${spread(result.readyMainCpu, 2)} | ${spread(result.served)} | ${spread(result.bare)} | ${spread(result.bareCpu, 2)} | ${spread(result.bareMainCpu, 2)} |`,
      );
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
