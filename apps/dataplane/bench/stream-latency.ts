import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { TestConfigServer } from '../test/helpers/config-server.js';
import { startDataplaneProcess, type DataplaneProcess } from '../test/helpers/dataplane-process.js';

/**
 * What the streaming benches (mcp-streaming, ai-gateway-streaming) share: an upstream script (sse-upstream.ts,
 * llm-sse-upstream.ts) run as its own process, the built data plane as its own process, and the per-event latency
 * of a stream: each SSE event's arrival time minus the send stamp (`"sent":<epoch ms>`) the upstream put in it.
 */
const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

/** Starts `bench/<script>` (it prints `{"port":…}`) and resolves with its port. */
export async function startUpstream(script: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${script}`], {
    cwd: appDirectory,
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += (chunk as Buffer).toString('utf8');
    const match = /"port":(\d+)/.exec(output);
    if (match !== null) return { port: Number(match[1]), child };
  }
  throw new Error(`bench/${script} printed no port`);
}

/** The built data plane (`dist/main.js`) on `config`, with a scratch data directory removed by `stop`. */
export async function startBenchDataplane(config: TestConfigServer): Promise<DataplaneProcess> {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-stream-'));
  const dataplane = await startDataplaneProcess(
    { GATEHOUSE_API_URL: config.url, GATEHOUSE_DATAPLANE_TOKEN: config.token, GATEHOUSE_DATA_DIR: dataDirectory },
    { built: true },
  );
  return {
    ...dataplane,
    async stop() {
      const code = await dataplane.stop();
      await rm(dataDirectory, { recursive: true, force: true });
      return code;
    },
  };
}

export interface StreamRequest {
  port: number;
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Sequential calls; the first is warm-up and not measured. */
  streams: number;
}

/** Latencies (ms, sorted) of every stamped event of `streams` sequential calls; undefined when a call is refused. */
export async function measureEventLatencies(target: StreamRequest): Promise<number[] | undefined> {
  const latencies: number[] = [];
  for (let index = 0; index < target.streams; index++) {
    const response = await request(`http://127.0.0.1:${target.port}${target.path}`, {
      method: 'POST',
      headers: { host: target.host, ...target.headers },
      body: target.body,
    });
    if (response.statusCode !== 200) {
      await response.body.text();
      return undefined;
    }
    let pending = '';
    for await (const chunk of response.body) {
      // One clock read per chunk: events that arrived together arrived at the same time.
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

export const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Prints the markdown table: p50, p99 and the p50 added over the first row (the upstream direct). */
export function printLatencyTable(title: string, rows: readonly [string, number[] | undefined][]): void {
  const direct = rows[0]![1]!;
  console.log(`${title}\n`);
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
}
