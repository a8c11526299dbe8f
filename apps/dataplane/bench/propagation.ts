/**
 * Config propagation benchmark (run by proxy.bench.ts in a process of its own): a data plane process with 10,000
 * endpoints loaded, then N policy changes published on Redis the way the API does after its 2xx; for each, the time
 * from just before the publish to the first request the data plane answers under the new policy. Also boot time and RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { request } from 'undici';
import { policySha256, TestConfigServer } from '../test/helpers/config-server.js';
import { walkthroughPolicy } from '../test/helpers/dataplane-harness.js';
import { freePort } from '../test/helpers/redis-process.js';

const syncPolicy = (version: number, source: string) => ({ version, sha256: policySha256(source), source });

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const propagationChanges = 200;
const endpointCount = 10_000;
const children: ChildProcess[] = [];

/** The data plane as it ships, from the build (`bench` depends on it): tsx's loader would add to the RSS measured. */
function spawnDataplane(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: appDirectory,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitReady(adminPort: number): Promise<void> {
  for (let attempt = 0; attempt < 1_200; attempt++) {
    try {
      const response = await request(`http://127.0.0.1:${adminPort}/readyz`);
      await response.body.dump();
      if (response.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the data plane did not become ready');
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
      endpoint: {
        id: `ep_load_${index}`,
        url: `https://tenant-${index}.example.com`,
        type: 'cloud',
        host: `tenant-${index}.example.com`,
        proto: 'https',
        port: 443,
        upstream_url: null,
        upstream_host_header: 'preserve',
        request_log_capture: { headers: false, bodies: false },
        policy_rejected: null,
        agent: null,
        shadow_policy: null,
        policy: syncPolicy(1, walkthroughPolicy.replace('name: per-token', `name: per-token-${index}`)),
      },
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
  // Let the boot's one-time work (its last-known-good write encodes all 10,000 endpoints once) finish first:
  // the measure is steady-state propagation.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
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
      endpoint: {
        id: `ep_load_${index}`,
        url: `https://${host}`,
        type: 'cloud',
        host,
        proto: 'https',
        port: 443,
        upstream_url: null,
        upstream_host_header: 'preserve',
        request_log_capture: { headers: false, bodies: false },
        policy_rejected: null,
        agent: null,
        shadow_policy: null,
        policy: syncPolicy(
          2 + change,
          `on_http_request:\n  - name: change ${change}\n    actions:\n      - type: deny\n        config: { status_code: ${status} }\n`,
        ),
      },
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
  dataplane.kill('SIGTERM');
  await once(dataplane, 'exit');
  await rm(dataDirectory, { recursive: true, force: true });
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
