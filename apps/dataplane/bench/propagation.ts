/**
 * Config propagation benchmark (run by proxy.bench.ts in a process of its own): a data plane process with 10,000
 * endpoints loaded, then N policy changes published on Redis the way the API does after its 2xx; for each, the time
 * from just before the publish to the first request the data plane answers under the new policy. Also boot time and RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { request } from 'undici';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { freePort } from '../test/helpers/redis-process.js';
import { loadEndpoint, loadEndpointCount } from './load-endpoints.js';

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const propagationChanges = 200;
const endpointCount = loadEndpointCount;
const children: ChildProcess[] = [];
/**
 * The longest wait for a data plane to settle after a bulk load (`settled`); a build without the settle collection
 * never does, and is read after this.
 */
const settleTimeoutMs = Number(process.env.BENCH_SETTLE_MS ?? 25_000);

/**
 * The malloc settings the data plane's image sets (apps/dataplane/Dockerfile) unless the caller sets others;
 * BENCH_MALLOC=glibc leaves glibc's defaults (per-thread arenas, a dynamic mmap threshold) to compare with.
 */
const imageMalloc: Record<string, string> =
  process.env.BENCH_MALLOC === 'glibc' ? {} : { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' };

/** The data plane as it ships, from the build (`bench` depends on it): tsx's loader would add to the RSS measured. */
function spawnDataplane(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: appDirectory,
    env: { ...imageMalloc, ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

/** Polls `/readyz` (a config is loaded), or `/healthz` (listening) for a data plane that has no config to load. */
async function waitReady(adminPort: number, pollMs = 50, path: '/readyz' | '/healthz' = '/readyz'): Promise<void> {
  for (let attempt = 0; attempt < 60_000 / pollMs; attempt++) {
    try {
      const response = await request(`http://127.0.0.1:${adminPort}${path}`);
      await response.body.dump();
      if (response.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error('the data plane did not become ready');
}

/**
 * Waits at least `minimumMs`, then until the data plane has collected its bulk load's garbage: it does so once config
 * work has been quiet for a while and then shrinks its young generation back to 1 MB (src/settle-collection.ts), so a
 * young generation of at most 4 MB says it has happened. At most `settleTimeoutMs` in all.
 */
async function settled(adminPort: number, minimumMs: number): Promise<void> {
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, minimumMs));
  while (performance.now() - started < settleTimeoutMs) {
    const young = await metricValue(
      adminPort,
      'gatehouse_dataplane_nodejs_heap_space_size_total_bytes\\{space="new"\\}',
    );
    if (young <= 4 * 1024 * 1024) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // RSS follows the collection once the freed pages are handed back.
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function metricValue(adminPort: number, name: string): Promise<number> {
  const response = await request(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await response.body.text();
  const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

async function main(): Promise<void> {
  const config = new TestConfigServer(redisUrl, CONFIG_CHANNEL);
  await config.start();
  try {
    await propagation(config, {
      DATAPLANE_HOST: '127.0.0.1',
      GATEHOUSE_API_URL: config.url,
      GATEHOUSE_DATAPLANE_TOKEN: config.token,
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'warn',
      // The targets are per worker: one worker, so boot and RSS are not those of several processes at once.
      DATAPLANE_WORKERS: '1',
    });
  } finally {
    await config.close();
  }
}

/** 10,000 endpoints, each with its own policy text so nothing is shared between them. */
async function propagation(config: TestConfigServer, env: Record<string, string>): Promise<void> {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-prop-'));
  for (let index = 0; index < endpointCount; index++) {
    config.record({
      kind: 'endpoint.upserted',
      entity_id: `ep_load_${index}`,
      ip_category: null,
      endpoint: loadEndpoint(index),
    });
  }
  const port = await freePort();
  const adminPort = await freePort();
  const bootStarted = performance.now();
  const dataplane = spawnDataplane({
    ...env,
    GATEHOUSE_DATA_DIR: dataDirectory,
    DATAPLANE_PORT: String(port),
    DATAPLANE_ADMIN_PORT: String(adminPort),
  });
  await waitReady(adminPort);
  const bootMs = performance.now() - bootStarted;
  // Let the boot's one-time work (its last-known-good write encodes all 10,000 endpoints once, then the collection of
  // its garbage: src/settle-collection.ts) finish first: the measure is steady-state propagation and settled RSS.
  await settled(adminPort, 2_000);
  const rssLoaded = await metricValue(adminPort, 'gatehouse_dataplane_process_resident_memory_bytes');
  const heapLoaded = await metricValue(adminPort, 'gatehouse_dataplane_nodejs_heap_size_used_bytes');

  const latencies: number[] = [];
  for (let change = 0; change < propagationChanges; change++) {
    const index = Math.floor(Math.random() * endpointCount);
    const status = 400 + (change % 99);
    const host = `tenant-${index}.example.com`;
    const started = performance.now();
    const recorded = config.record({
      kind: 'endpoint.upserted',
      entity_id: `ep_load_${index}`,
      ip_category: null,
      endpoint: loadEndpoint(
        index,
        `on_http_request:\n  - name: change ${change}\n    actions:\n      - type: deny\n        config: { status_code: ${status} }\n`,
        2 + change,
      ),
    });
    await config.publish(recorded);
    for (;;) {
      const response = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
      await response.body.dump();
      if (response.statusCode === status) break;
      if (performance.now() - started > 5_000) throw new Error(`change ${change} not enforced after 5 s`);
    }
    latencies.push(performance.now() - started);
    // Changes arrive spaced out, as edits do; back-to-back publishes would measure queueing instead.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const rssAfter = await metricValue(adminPort, 'gatehouse_dataplane_process_resident_memory_bytes');
  latencies.sort((left, right) => left - right);
  const percentile = (fraction: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))]!;
  console.log(
    `\nPropagation with ${endpointCount.toLocaleString('en')} endpoints loaded (each its own walkthrough-size policy), ${propagationChanges} changes via Redis:`,
  );
  console.log('| measure                                   | value |');
  console.log('|-------------------------------------------|------:|');
  console.log(`| boot to ready (snapshot fetch + compile)  | ${(bootMs / 1000).toFixed(2)} s |`);
  console.log(`| publish → enforced, p50                   | ${percentile(0.5).toFixed(2)} ms |`);
  console.log(`| publish → enforced, p99 (target ≤ 30 ms)  | ${percentile(0.99).toFixed(2)} ms |`);
  console.log(`| publish → enforced, max                   | ${latencies.at(-1)!.toFixed(2)} ms |`);
  console.log(`| RSS after load, settled (target ≤ 150 MB) | ${(rssLoaded / 1024 / 1024).toFixed(1)} MB |`);
  console.log(`| RSS after the changes                     | ${(rssAfter / 1024 / 1024).toFixed(1)} MB |`);
  console.log(`| JS heap used after load                   | ${(heapLoaded / 1024 / 1024).toFixed(1)} MB |`);
  // Let the last change reach the last-known-good file (writes are coalesced, at most one a second).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  dataplane.kill('SIGTERM');
  await once(dataplane, 'exit');

  // A restart while the API is down: everything comes from the last-known-good file the run above left.
  const deadApi = `http://127.0.0.1:${await freePort()}`;
  const emptyDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-empty-'));
  const boots: Boot[] = [];
  const emptyBoots: Boot[] = [];
  for (let round = 0; round < 3; round++) {
    boots.push(await bootFromLastKnownGood({ ...env, GATEHOUSE_API_URL: deadApi }, dataDirectory));
    emptyBoots.push(await bootFromLastKnownGood({ ...env, GATEHOUSE_API_URL: deadApi }, emptyDirectory));
  }
  await rm(emptyDirectory, { recursive: true, force: true });
  console.log(
    `\nRestart from the last-known-good file with ${endpointCount.toLocaleString('en')} endpoints and the API down (3 boots, median and range):`,
  );
  console.log('| measure                                          | value |');
  console.log('|--------------------------------------------------|------:|');
  const seconds = (values: number[]) => `${spread(values, (value) => (value / 1000).toFixed(2))} s`;
  console.log(`| process start → /readyz 200 (target ≤ 1 s)        | ${seconds(boots.map((boot) => boot.readyMs))} |`);
  console.log(`| process start → first request answered by policy | ${seconds(boots.map((boot) => boot.servedMs))} |`);
  console.log(
    `| the same process with no config to load (/healthz) | ${seconds(emptyBoots.map((boot) => boot.readyMs))} |`,
  );
  const megabytes = spread(
    boots.map((boot) => boot.rss),
    (value) => (value / 1024 / 1024).toFixed(1),
  );
  console.log(`| RSS once every policy compiled (target ≤ 150 MB)  | ${megabytes} MB |`);
  await rm(dataDirectory, { recursive: true, force: true });
}

interface Boot {
  readyMs: number;
  servedMs: number;
  rss: number;
}

/** "median (min–max)" of a few rounds. */
function spread(values: number[], format: (value: number) => string): string {
  const sorted = [...values].sort((left, right) => left - right);
  return `${format(sorted[Math.floor(sorted.length / 2)]!)} (${format(sorted[0]!)}–${format(sorted.at(-1)!)})`;
}

/**
 * One boot from the data directory's last-known-good file: time to ready, to the first answer, and settled RSS. An
 * empty directory measures what every boot pays (node, the modules, listening) before any endpoint.
 */
async function bootFromLastKnownGood(env: Record<string, string>, dataDirectory: string): Promise<Boot> {
  const port = await freePort();
  const adminPort = await freePort();
  const started = performance.now();
  const dataplane = spawnDataplane({
    ...env,
    GATEHOUSE_DATA_DIR: dataDirectory,
    DATAPLANE_PORT: String(port),
    DATAPLANE_ADMIN_PORT: String(adminPort),
  });
  const empty = (await readdir(dataDirectory)).length === 0;
  await waitReady(adminPort, 10, empty ? '/healthz' : '/readyz');
  const readyMs = performance.now() - started;
  if (empty) {
    dataplane.kill('SIGTERM');
    await once(dataplane, 'exit');
    return { readyMs, servedMs: Number.NaN, rss: Number.NaN };
  }
  const host = `tenant-${Math.floor(Math.random() * endpointCount)}.example.com`;
  const response = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
  await response.body.dump();
  if (response.statusCode === 404 || response.statusCode >= 500)
    throw new Error(`${host} answered ${response.statusCode}`);
  const servedMs = performance.now() - started;
  // Policies compile on first use and in the background after a boot like this one; RSS is read once that is done
  // and its garbage collected.
  await settled(adminPort, 8_000);
  const rss = await metricValue(adminPort, 'gatehouse_dataplane_process_resident_memory_bytes');
  dataplane.kill('SIGTERM');
  await once(dataplane, 'exit');
  return { readyMs, servedMs, rss };
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
