/**
 * `npm run bench:event-sink -w @gatehouse/dataplane` (after `npm run build`): the CPU the BullMQ request-event sink
 * costs per event, in a process of its own, against a real Redis.
 *
 * Why apart from proxy.bench.ts: the sink is a tenth of a request's CPU, and on a shared 2-core VM a request's CPU
 * time moves by ±20% between runs, so a before/after of the sink through the whole proxy drowns in noise. Here the
 * events are emitted at a steady rate (SINK_RATE per second, default 6,000: about what one data plane worker serves
 * on this machine), each a fresh object of the shape a forward-internal request produces, with some request-sized
 * garbage around it; the process's CPU (user + system) and GC time per event are measured over SINK_SECONDS (default
 * 10) after a warm-up. The harness alone (the same loop with a sink that drops every event) is measured too, and
 * subtracted. Alternating processes, SINK_ROUNDS (default 3) each; median printed.
 *
 * `BENCH_COMPARE_DIST=DIR` (a data plane build from bench/build-variant.sh, its `apps/dataplane/dist`) adds that
 * build's sink for a before/after in one run.
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { RequestEventInput } from '@gatehouse/contracts';
import { sampleRequestEvent } from '@gatehouse/contracts/testing';

interface Sink {
  emit(event: RequestEventInput): boolean;
  flush?(): Promise<void>;
  close(): Promise<void>;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rate = Number(process.env.SINK_RATE ?? 6_000);
const seconds = Number(process.env.SINK_SECONDS ?? 10);
const rounds = Number(process.env.SINK_ROUNDS ?? 3);
const appDirectory = fileURLToPath(new URL('..', import.meta.url));

/**
 * One request's event as a forward-internal request to an MCP server logs it: the contracts' sample event with the
 * replay facts a data plane records for every request (~1.6 KB of JSON in all).
 */
function eventFor(index: number): RequestEventInput {
  const mcp = {
    kind: 'request',
    method: 'tools/call',
    tool: 'search',
    protocol_version: '2025-06-18',
    session_id: '',
  } as const;
  return sampleRequestEvent({
    replay: {
      method: 'POST',
      scheme: 'https',
      host: 'mcp.example.com',
      port: '',
      path: `/mcp/${index}`,
      query: '',
      http_version: '1.1',
      headers: [
        ['accept', 'application/json, text/event-stream'],
        ['content-length', '100'],
        ['content-type', 'application/json'],
        ['host', 'mcp.example.com'],
      ],
      client_ip: '160.79.104.10',
      server_port: 443,
      tls: null,
      connection_started_at_ms: 1_796_610_326_112,
      client_ip_categories: ['com.anthropic.api'],
      mcp: { ...mcp, names: 'tools' },
    },
  });
}

/** The child: emits at `rate` for `seconds` and prints {cpuUs, gcMs, events} as JSON. */
async function measure(dist: string | undefined): Promise<void> {
  let sink: Sink;
  if (dist === undefined) sink = { emit: () => true, close: () => Promise.resolve() };
  else {
    const module = (await import(`${dist}/events/bullmq-event-sink.js`)) as {
      BullmqRequestEventSink: new (options: { redisUrl: string; prefix: string; source: string }) => Sink;
    };
    sink = new module.BullmqRequestEventSink({ redisUrl, prefix: `gatehouse-sink-bench-${process.pid}`, source: 'dp' });
  }
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  let emitted = 0;
  const run = async (count: number): Promise<void> => {
    const started = performance.now();
    const first = emitted;
    while (emitted - first < count) {
      const due = first + Math.min(count, Math.floor(((performance.now() - started) * rate) / 1000));
      for (; emitted < due; emitted++) {
        sink.emit(eventFor(emitted));
        // A request's own garbage, so collections run as often as in a data plane.
        const garbage: unknown[] = [];
        for (let index = 0; index < 20; index++) garbage.push({ index, text: `x${index}`, list: [index] });
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await sink.flush?.();
  };
  await new Promise((resolve) => setTimeout(resolve, 300));
  await run(rate * 3);
  gcMs = 0;
  const before = process.cpuUsage();
  const events = rate * seconds;
  await run(events);
  const used = process.cpuUsage(before);
  console.log(JSON.stringify({ cpuUs: used.user + used.system, gcMs, events }));
  await sink.close();
}

function child(dist: string | undefined): Promise<{ cpuUs: number; gcMs: number; events: number }> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/event-sink.bench.ts', '--child', dist ?? 'none'],
      { cwd: appDirectory, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    process_.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    process_.once('exit', (code) => {
      const line = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`sink bench child failed (exit ${code}): ${output}`));
      else resolve(JSON.parse(line) as { cpuUs: number; gcMs: number; events: number });
    });
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const targets: { name: string; dist: string | undefined }[] = [
    { name: 'no sink (the harness alone)', dist: undefined },
    { name: 'BullmqRequestEventSink (this build)', dist: `${appDirectory}dist` },
  ];
  const compare = process.env.BENCH_COMPARE_DIST;
  if (compare !== undefined) targets.push({ name: `BullmqRequestEventSink (${compare})`, dist: compare });
  const cpu = new Map<string, number[]>();
  const gc = new Map<string, number[]>();
  console.log(`request-event sink: ${rate} events/s for ${seconds} s per process, ${rounds} alternating rounds`);
  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const result = await child(target.dist);
      (cpu.get(target.name) ?? cpu.set(target.name, []).get(target.name)!).push(result.cpuUs / result.events);
      (gc.get(target.name) ?? gc.set(target.name, []).get(target.name)!).push((result.gcMs * 1000) / result.events);
    }
  }
  const harness = median(cpu.get(targets[0]!.name)!);
  for (const target of targets) {
    const perEvent = cpu.get(target.name)!;
    const own = target.dist === undefined ? '' : `, the sink's own ${(median(perEvent) - harness).toFixed(1)} µs/event`;
    console.log(
      `  ${target.name}: CPU ${median(perEvent).toFixed(1)} µs/event (${Math.min(...perEvent).toFixed(1)}–${Math.max(...perEvent).toFixed(1)})${own}, GC ${median(gc.get(target.name)!).toFixed(2)} µs/event`,
    );
  }
}

if (process.argv[2] === '--child') {
  const dist = process.argv[3];
  await measure(dist === 'none' ? undefined : dist);
} else await main();
