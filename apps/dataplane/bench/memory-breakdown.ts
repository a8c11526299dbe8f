/**
 * Where a data plane's memory goes (issue 18 item 5): boots the built data plane (one worker) with ENDPOINTS endpoints
 * shaped like propagation.ts's (each its own walkthrough-size policy), waits for the boot's work to settle, then
 * prints /proc's split of the resident set (anonymous vs file-backed), V8's heap spaces and external memory, and the
 * heap snapshot's largest object groups. `npx tsx bench/memory-breakdown.ts` (needs REDIS_URL and a build);
 * ENDPOINTS=0 measures what every process pays before any endpoint; NODE_EXTRA adds node flags to the data plane.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_CHANNEL } from '@gatehouse/contracts';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { freePort } from '../test/helpers/redis-process.js';
import { loadEndpoint, loadEndpointCount } from './load-endpoints.js';

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const endpointCount = Number(process.env.ENDPOINTS ?? loadEndpointCount);
const settleMs = Number(process.env.SETTLE_MS ?? 14_000);
const withSnapshot = process.env.SNAPSHOT !== '0';

async function waitReady(adminPort: number, path: string): Promise<void> {
  for (let attempt = 0; attempt < 1_200; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${adminPort}${path}`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the data plane did not become ready');
}

async function procStatus(pid: number): Promise<Record<string, number>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const values: Record<string, number> = {};
  for (const match of text.matchAll(/^(Vm\w+|Rss\w+):\s+(\d+) kB$/gm)) values[match[1]!] = Number(match[2]) / 1024;
  return values;
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self sizes grouped by node type and constructor name (strings by type only): where the heap's bytes sit. */
function summarize(heap: HeapSnapshot): [string, number, number][] {
  const fields = heap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeIndex = fields.indexOf('type');
  const nameIndex = fields.indexOf('name');
  const sizeIndex = fields.indexOf('self_size');
  const types = heap.snapshot.meta.node_types[0];
  const groups = new Map<string, [number, number]>();
  for (let node = 0; node < heap.nodes.length; node += width) {
    const type = types[heap.nodes[node + typeIndex]!]!;
    const name = heap.strings[heap.nodes[node + nameIndex]!]!;
    const key =
      type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
        ? `(${type})`
        : type === 'code' || type === 'hidden'
          ? `(${type}) ${name.slice(0, 40)}`
          : `${type} ${name.slice(0, 60)}`;
    const group = groups.get(key) ?? [0, 0];
    group[0] += heap.nodes[node + sizeIndex]!;
    group[1]++;
    groups.set(key, group);
  }
  return [...groups].map(([key, [size, count]]) => [key, size, count] as [string, number, number]);
}

/** Strings grouped by their first characters (digits folded), to tell policy text from JSON from keys. */
function summarizeStrings(heap: HeapSnapshot): [string, number, number][] {
  const fields = heap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeIndex = fields.indexOf('type');
  const nameIndex = fields.indexOf('name');
  const sizeIndex = fields.indexOf('self_size');
  const types = heap.snapshot.meta.node_types[0];
  const groups = new Map<string, [number, number]>();
  for (let node = 0; node < heap.nodes.length; node += width) {
    const type = types[heap.nodes[node + typeIndex]!]!;
    if (!type.includes('string')) continue;
    const key = `${type}: ${heap.strings[heap.nodes[node + nameIndex]!]!.slice(0, 40).replace(/[0-9]+/g, '#')}`;
    const group = groups.get(key) ?? [0, 0];
    group[0] += heap.nodes[node + sizeIndex]!;
    group[1]++;
    groups.set(key, group);
  }
  return [...groups].map(([key, [size, count]]) => [key, size, count] as [string, number, number]);
}

async function main(): Promise<void> {
  const config = new TestConfigServer(redisUrl, CONFIG_CHANNEL);
  await config.start();
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-mem-'));
  const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-bench-heap-'));
  try {
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
    const child = spawn(
      process.execPath,
      [...(process.env.NODE_EXTRA ?? '').split(' ').filter(Boolean), 'dist/main.js'],
      {
        cwd: appDirectory,
        env: {
          ...process.env,
          NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${scratch}`,
          DATAPLANE_HOST: '127.0.0.1',
          GATEHOUSE_API_URL: config.url,
          GATEHOUSE_DATAPLANE_TOKEN: config.token,
          REDIS_URL: redisUrl,
          LOG_LEVEL: 'warn',
          DATAPLANE_WORKERS: '1',
          GATEHOUSE_DATA_DIR: dataDirectory,
          DATAPLANE_PORT: String(port),
          DATAPLANE_ADMIN_PORT: String(adminPort),
        },
        stdio: ['ignore', process.env.TRACE === '1' ? 'inherit' : 'ignore', 'inherit'],
      },
    );
    await waitReady(adminPort, endpointCount === 0 ? '/healthz' : '/readyz');
    // RSS every 2 s while settling: the heap a boot grew is given back only once V8's memory reducer runs.
    const samples: string[] = [];
    for (let waited = 0; waited < settleMs; waited += 2_000) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, settleMs - waited)));
      samples.push(((await procStatus(child.pid!)).VmRSS ?? 0).toFixed(0));
    }
    console.log(`VmRSS every 2 s after ready (MB): ${samples.join(' ')}`);
    const metrics = new Map<string, number>();
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    for (const match of text.matchAll(/^(\w+(?:\{[^}]*\})?) (\S+)$/gm)) metrics.set(match[1]!, Number(match[2]));
    const status = await procStatus(child.pid!);
    const mb = (value: number | undefined) => (value === undefined ? '?' : (value / 1024 / 1024).toFixed(1));
    console.log(`\n${endpointCount} endpoints, ${settleMs / 1000} s after ready:`);
    console.log(
      `VmRSS ${status.VmRSS?.toFixed(1)} MB = anon ${status.RssAnon?.toFixed(1)} + file ${status.RssFile?.toFixed(1)} + shmem ${status.RssShmem?.toFixed(1)}`,
    );
    for (const [name, value] of metrics) {
      if (/heap_space_size_(used|total)_bytes|heap_size_(used|total)_bytes|external_memory|resident/.test(name))
        console.log(`${name.replace('gatehouse_dataplane_', '')} ${mb(value)} MB`);
    }
    if (withSnapshot) {
      process.kill(child.pid!, 'SIGUSR2');
      let lastSize = -1;
      let file = '';
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const files = (await readdir(scratch)).filter((name) => name.endsWith('.heapsnapshot'));
        if (files.length === 0) continue;
        file = join(scratch, files[0]!);
        const { size } = await stat(file);
        if (size > 0 && size === lastSize) break;
        lastSize = size;
      }
      const status2 = await procStatus(child.pid!);
      const heap = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot;
      const groups = summarize(heap).sort((left, right) => right[1] - left[1]);
      const total = groups.reduce((sum, group) => sum + group[1], 0);
      console.log(
        `heap snapshot (after a full GC): ${mb(total)} MB in ${heap.nodes.length / heap.snapshot.meta.node_fields.length} nodes; VmRSS after ${status2.VmRSS?.toFixed(1)} MB`,
      );
      for (const [key, size, count] of groups.slice(0, Number(process.env.TOP ?? 40)))
        console.log(`${mb(size).padStart(7)} MB ${String(count).padStart(8)}  ${key}`);
      if (process.env.STRINGS === '1') {
        const stringGroups = summarizeStrings(heap).sort((left, right) => right[1] - left[1]);
        console.log('strings by their first 40 characters:');
        for (const [key, size, count] of stringGroups.slice(0, 40))
          console.log(`${mb(size).padStart(7)} MB ${String(count).padStart(8)}  ${JSON.stringify(key)}`);
      }
    }
    child.kill('SIGTERM');
    await once(child, 'exit');
  } finally {
    await config.close();
    await rm(dataDirectory, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
