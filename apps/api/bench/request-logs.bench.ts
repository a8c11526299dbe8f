// `npm run bench:logs -w @gatehouse/api`: the request-log pipeline's two figures (issue 5).
//   1. Sustained ingestion: events/s from the `request-logs` queue (batches of 500 events, added as the contract in
//      @gatehouse/contracts describes and as a data plane's sink sends them) through the worker processes
//      (`node dist/worker.js`, the real `npm run worker`) to rows in Postgres — with a count check (0 lost,
//      0 duplicated).
//   2. Query latency: p50/p95/p99 of the dashboard's default query (newest 50) and of filtered queries over 1M rows
//      seeded with one generate_series INSERT.
// Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/gatehouse_bench, created and migrated;
// emptied), REDIS_URL (default redis://127.0.0.1:6379), BENCH_EVENTS (200000), BENCH_WORKERS (1; more only help with
// more cores: on a 2-vCPU machine a second worker process slowed ingestion), BENCH_ROWS (1000000), BENCH_CPU_PROFILE_DIR
// (unset; a directory: the worker processes run with --cpu-prof and write their profiles there when they stop),
// BENCH_WORKER_ENTRY (dist/worker.js; another build's worker.js to compare builds in one session), BENCH_SKIP_QUERIES
// (1: ingestion only, no seeding), BENCH_REPLAY (default 1: every event carries replay facts, as data planes record
// them for every request; 0 leaves them out), BENCH_STEADY_STATE (default 1: before ingestion, every bench endpoint
// already holds `replayFactsPerEndpoint` facts, so each new fact evicts one, as on any endpoint with traffic; 0 starts
// from empty tables, where nothing is evicted), BENCH_PREFILL (default 1: the whole run is queued before the clock
// starts, with the queue paused, so the producer — standing in for data planes, which run on other machines — does
// not share the two cores with the pipeline it measures; 0 sends while the worker drains, as before).
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisNames, replayFactsPerEndpoint, requestLogBatchMaxEvents } from '@gatehouse/contracts';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { InProcessMessageBus } from '../src/bus/in-process-message-bus';
import { createLogger } from '../src/common/logger';
import { PrismaService } from '../src/database/prisma.service';
import { RequestLogTailService } from '../src/request-logs/request-log-tail.service';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { RequestLogsService } from '../src/request-logs/request-logs.service';
import { RequestLogProducer } from '../test/support/request-log-producer';
import { benchEndpointCount, benchEvent, storedReplayFacts } from './request-events';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gatehouse_bench';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const totalEvents = Number(process.env.BENCH_EVENTS ?? 200_000);
const workerCount = Number(process.env.BENCH_WORKERS ?? 1);
const seededRows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const cpuProfileDirectory = process.env.BENCH_CPU_PROFILE_DIR;
const apiRoot = path.join(__dirname, '..');
// Another build of the worker (e.g. a copy of dist from before a change), so two builds compare in one session.
// Replay facts on every event, as data planes record them for every request (README "What is recorded").
const withReplayFacts = process.env.BENCH_REPLAY !== '0';
const steadyState = process.env.BENCH_STEADY_STATE !== '0';
const prefill = process.env.BENCH_PREFILL !== '0';
const workerEntry = process.env.BENCH_WORKER_ENTRY ?? path.join(apiRoot, 'dist/worker.js');
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function startWorker(): ChildProcess {
  // NODE_OPTIONS refuses --cpu-prof, so profiling is an argument of the worker process itself.
  const profile = cpuProfileDirectory ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDirectory}`] : [];
  // The flags of `npm run worker` (package.json) and the compose file.
  const child = spawn(process.execPath, ['--max-semi-space-size=64', ...profile, workerEntry], {
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSecondsOf(child: ChildProcess | number): number {
  try {
    const pid = typeof child === 'number' ? child : child.pid;
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 of stat (utime, stime) in clock ticks; USER_HZ is 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The machine's CPU time by kind (user nice system idle iowait irq softirq steal), from /proc/stat (Linux). */
function machineCpuTicks(): number[] | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * Steal time since `before`, as a share of the machine's CPU time: time the hypervisor gave this VM's cores to other
 * guests. On a shared VM it moves every figure of a run, the CPU per event included (neighbours also slow what runs).
 */
function stealShareSince(before: number[] | undefined): number | undefined {
  const after = machineCpuTicks();
  if (before === undefined || after === undefined) return undefined;
  const spent = after.map((value, index) => value - before[index]!);
  const total = spent.reduce((sum, value) => sum + value, 0);
  return total > 0 ? spent[7]! / total : undefined;
}

async function measureIngestion(db: pg.Client): Promise<{
  rate: number;
  seconds: number;
  stored: number;
  workerCpuSeconds: number;
  postgresCpuSeconds: number;
  redisCpuSeconds: number;
  producerCpuSeconds: number;
  steal: number | undefined;
}> {
  if (steadyState) await seedSteadyState(db);
  else await db.query('TRUNCATE request_replay_facts, request_logs RESTART IDENTITY');
  const seqBefore = await latestSeq(db);
  const redis = new Redis(redisUrl);
  // The worker processes run without GATEHOUSE_REDIS_PREFIX: the default names.
  const producer = new RequestLogProducer({ redisUrl, names: redisNames(), source: 'bench' });
  // Whatever an interrupted run left in the queue (a paused queue, its batches) goes first.
  await producer.obliterate();
  const workers = Array.from({ length: workerCount }, startWorker);
  try {
    if (prefill) await producer.pause();
    await sleep(2_500);
    // Built before the clock starts: making events is the data plane's request path, not the log pipeline.
    const events = Array.from({ length: totalEvents }, (_, index) => benchEvent(index, withReplayFacts));
    const batches: (typeof events)[] = [];
    for (let index = 0; index < events.length; index += requestLogBatchMaxEvents)
      batches.push(events.slice(index, index + requestLogBatchMaxEvents));
    // Like traffic from a few data planes: a few full batches at a time, never everything at once.
    const send = async () => {
      for (let index = 0; index < batches.length; index += 4)
        await producer.sendBatches(batches.slice(index, index + 4));
    };
    if (prefill) await send();
    const cpuBefore = workers.reduce((sum, worker) => sum + cpuSecondsOf(worker), 0);
    // The rest of what shares the cores with the pipeline: Redis (when it runs on this machine) and this process, the
    // producer standing in for the data planes (only while it sends during the run: BENCH_PREFILL=0).
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    const redisCpuBefore = cpuSecondsOf(redisPid);
    const producerCpuBefore = process.cpuUsage();
    const stealBefore = machineCpuTicks();
    const postgresCpuBefore = await postgresBackendsCpu(db);
    const started = performance.now();
    if (prefill) await producer.resume();
    else await send();
    let stored: number;
    // Polled with max(seq), one step down the seq index: count(*) every 50 ms scans the growing heap (its rows are not
    // yet all-visible) on the cores the run measures. seq has no gaps unless an insert rolled back, so the count that
    // decides is taken once max(seq) says every row may be in.
    const countRows = async () =>
      Number(
        (await db.query<{ count: string }>('SELECT count(*) FROM request_logs WHERE seq > $1', [seqBefore])).rows[0]
          ?.count,
      );
    for (;;) {
      // A worker that dies (a crash, a bad BENCH_WORKER_ENTRY) would otherwise leave the run polling for 10 minutes.
      const exited = workers.find((worker) => worker.exitCode !== null || worker.signalCode !== null);
      if (exited) throw new Error(`a worker process exited (${exited.exitCode ?? exited.signalCode}) during the run`);
      const latest = await latestSeq(db);
      stored = latest - seqBefore >= totalEvents ? await countRows() : 0;
      if (stored >= totalEvents || performance.now() - started > 600_000) break;
      await sleep(50);
    }
    if (stored < totalEvents) stored = await countRows();
    const seconds = (performance.now() - started) / 1000;
    const steal = stealShareSince(stealBefore);
    const producerCpu = process.cpuUsage(producerCpuBefore);
    const producerCpuSeconds = (producerCpu.user + producerCpu.system) / 1e6;
    const redisCpuSeconds = cpuSecondsOf(redisPid) - redisCpuBefore;
    const workerCpuSeconds = workers.reduce((sum, worker) => sum + cpuSecondsOf(worker), 0) - cpuBefore;
    let postgresCpuSeconds = 0;
    for (const [pid, seconds] of await postgresBackendsCpu(db))
      postgresCpuSeconds += seconds - (postgresCpuBefore.get(pid) ?? 0);
    return {
      rate: stored / seconds,
      seconds,
      stored,
      workerCpuSeconds,
      postgresCpuSeconds,
      redisCpuSeconds,
      producerCpuSeconds,
      steal,
    };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    // A run that failed leaves no batches in the machine's Redis (CI runs there next).
    await producer.obliterate().catch(() => undefined);
    await producer.close();
    redis.disconnect();
  }
}

/**
 * The Postgres side: CPU seconds so far of each of the workers' backends (every connection to the bench database but
 * this one), by pid. A backend that connects during the run is missing from the reading at the start: all of its CPU
 * is the run's. Needs Postgres on this machine (NaN otherwise).
 */
async function postgresBackendsCpu(db: pg.Client): Promise<Map<number, number>> {
  const backends = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return new Map(backends.rows.map(({ pid }) => [pid, cpuSecondsOf(pid)]));
}

async function latestSeq(db: pg.Client): Promise<number> {
  return Number(
    (await db.query<{ max: string }>('SELECT coalesce(max(seq), 0) AS max FROM request_logs')).rows[0]?.max,
  );
}

/**
 * Every bench endpoint at its replay-fact bound, as any endpoint with traffic soon is: `replayFactsPerEndpoint` older
 * rows with their facts, so each fact the run stores evicts one (an empty table measured only the inserts), and the
 * indexes have the depth of a table in use. Vacuumed, as autovacuum keeps a table in use.
 */
async function seedSteadyState(db: pg.Client): Promise<void> {
  await seed(db, benchEndpointCount * replayFactsPerEndpoint);
  if (withReplayFacts) {
    await db.query(
      `INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts)
       SELECT seq, id, endpoint_id, row_number() OVER (PARTITION BY endpoint_id ORDER BY seq), $1::json FROM request_logs`,
      [storedReplayFacts(0)],
    );
  }
  await db.query('VACUUM ANALYZE request_logs, request_replay_facts');
}

async function seed(db: pg.Client, rows: number): Promise<number> {
  await db.query('TRUNCATE request_replay_facts, request_logs RESTART IDENTITY');
  const started = performance.now();
  // Spread over the last 6 days (inside the default retention), 20 endpoints, a realistic status/action mix.
  await db.query(
    `INSERT INTO request_logs (id, "timestamp", endpoint_id, endpoint_url, policy_version, method, host, path, query,
       status, duration_ms, upstream_duration_ms, bytes_in, bytes_out, client_ip, client_ip_categories, user_agent,
       forwarded_to, decision, decision_action, rules_matched, error_code, logs, mcp, mcp_tool, trace_id, trace)
     SELECT 'seed-' || g, now() - (g * interval '518 milliseconds'), 'ep_bench_' || (g % ${benchEndpointCount}), 'https://mcp.example.com', 3,
       CASE WHEN g % 4 = 0 THEN 'GET' ELSE 'POST' END, 'mcp.example.com', '/mcp/' || (g % 1000), '',
       CASE WHEN g % 10 = 0 THEN 401 WHEN g % 17 = 0 THEN 429 WHEN g % 101 = 0 THEN 502 ELSE 200 END,
       4.2, 3.1, 310, 1024, '160.79.104.' || (g % 250), ARRAY['com.anthropic.api'], 'claude-mcp/1.0',
       'https://mcp.example.internal',
       jsonb_build_object('phase', 'on_http_request', 'rule_index', 3, 'rule_name', null, 'action',
         CASE WHEN g % 10 = 0 THEN 'deny' WHEN g % 17 = 0 THEN 'rate-limit' ELSE 'forward-internal' END),
       CASE WHEN g % 10 = 0 THEN 'deny' WHEN g % 17 = 0 THEN 'rate-limit' ELSE 'forward-internal' END,
       '[{"phase":"on_http_request","rule_index":3,"rule_name":null,"endpoint_id":"ep_bench"}]'::jsonb, null, '[]'::jsonb,
       jsonb_build_object('method', 'tools/call', 'tool', 'tool_' || (g % 12), 'protocol_version', '2025-06-18'),
       'tool_' || (g % 12), md5(g::text),
       '[{"endpoint_id":"ep_bench","phase":"on_http_request","rule_index":0,"rule_name":null,"matched":false,"actions":[]}]'::jsonb
     FROM generate_series(1, $1::int) AS g`,
    [rows],
  );
  await db.query('ANALYZE request_logs');
  return (performance.now() - started) / 1000;
}

async function measureQueries(): Promise<{ name: string; p50: number; p95: number; p99: number; rows: number }[]> {
  const logger = createLogger('silent');
  const prisma = new PrismaService(new PrismaPg({ connectionString: databaseUrl }));
  const repository = new RequestLogsRepository(prisma);
  const service = new RequestLogsService(
    repository,
    new RequestLogTailService(new InProcessMessageBus(), redisNames(), logger),
    logger,
  );
  const second = await service.listRequestLogs({ limit: 50 });
  const cursor = new URL(`http://x${second.next_page_uri ?? ''}`).searchParams.get('before') ?? undefined;
  const queries: [string, Parameters<RequestLogsService['listRequestLogs']>[0]][] = [
    ['default: newest 50', { limit: 50 }],
    ['next page (cursor)', { limit: 50, before: cursor }],
    ['endpoint_id', { limit: 50, endpoint_id: 'ep_bench_7' }],
    ['status=5xx (1%)', { limit: 50, status: '5xx' }],
    ['action=deny', { limit: 50, action: 'deny' }],
    [
      'last hour, 4xx, POST',
      { limit: 50, status: '4xx', method: 'POST', from: new Date(Date.now() - 3_600_000).toISOString() },
    ],
    ['q=tool_7 (substring)', { limit: 50, q: 'tool_7' }],
    // No seeded row has a caller: the partial GIN index of caller_ids (rows with a caller only) must answer this
    // without reading the table.
    ['caller=user-1 (no row matches)', { limit: 50, caller: 'user-1' }],
  ];
  const results = [];
  for (const [name, query] of queries) {
    for (let warmup = 0; warmup < 5; warmup++) await service.listRequestLogs(query);
    const timings: number[] = [];
    let rows = 0;
    for (let run = 0; run < 200; run++) {
      const started = performance.now();
      rows = (await service.listRequestLogs(query)).request_logs.length;
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    results.push({
      name,
      p50: percentile(timings, 0.5),
      p95: percentile(timings, 0.95),
      p99: percentile(timings, 0.99),
      rows,
    });
  }
  await prisma.$disconnect();
  return results;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(apiRoot, 'scripts/db-migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'ignore',
  });
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    console.log(
      `request-log ingestion: ${totalEvents} events ${withReplayFacts ? 'with' : 'without'} replay facts, BullMQ queue → ${workerCount} worker process(es) → Postgres`,
    );
    const ingestion = await measureIngestion(db);
    const skipQueries = process.env.BENCH_SKIP_QUERIES === '1';
    if (!skipQueries) console.log(`request-log queries: seeding ${seededRows} rows…`);
    const seedSeconds = skipQueries ? Number.NaN : await seed(db, seededRows);
    const queries = skipQueries ? [] : await measureQueries();
    const lost = totalEvents - ingestion.stored;
    console.log('');
    console.log('| measure | value | target |');
    console.log('|---|---|---|');
    console.log(
      `| ingestion (queue → rows), events/s | ${Math.round(ingestion.rate).toLocaleString('en')} | ≥ 20,000 |`,
    );
    console.log(`| events in / rows out / lost | ${totalEvents} / ${ingestion.stored} / ${lost} | 0 lost |`);
    console.log(`| ingestion wall time | ${ingestion.seconds.toFixed(2)} s | |`);
    // The figure that depends least on what else runs on the machine: the worker's own CPU per stored event.
    console.log(
      `| worker CPU per event (user + system) | ${((ingestion.workerCpuSeconds * 1e6) / Math.max(1, ingestion.stored)).toFixed(1)} µs | |`,
    );
    console.log(
      `| Postgres CPU per event (the workers' backends) | ${((ingestion.postgresCpuSeconds * 1e6) / Math.max(1, ingestion.stored)).toFixed(1)} µs | |`,
    );
    console.log(
      `| other CPU per event: Redis / this process (producer, count polling) | ${((ingestion.redisCpuSeconds * 1e6) / Math.max(1, ingestion.stored)).toFixed(1)} / ${((ingestion.producerCpuSeconds * 1e6) / Math.max(1, ingestion.stored)).toFixed(1)} µs | |`,
    );
    console.log(`| load average (1 min) at the end | ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores | |`);
    console.log(
      `| CPU steal during ingestion (the hypervisor running other guests) | ${ingestion.steal === undefined ? 'n/a' : `${(ingestion.steal * 100).toFixed(1)}%`} | |`,
    );
    if (!skipQueries)
      console.log(`| seed ${seededRows.toLocaleString('en')} rows (generate_series) | ${seedSeconds.toFixed(1)} s | |`);
    for (const query of queries) {
      console.log(
        `| query ${query.name}: p50 / p95 / p99 ms (rows) | ${query.p50.toFixed(2)} / ${query.p95.toFixed(2)} / ${query.p99.toFixed(2)} (${query.rows}) | ${query.name.startsWith('default') ? 'p95 ≤ 100 ms' : ''} |`,
      );
    }
    const ok = lost === 0 && ingestion.rate >= 20_000 && (skipQueries || (queries[0]?.p95 ?? Infinity) <= 100);
    console.log('');
    console.log(ok ? 'targets met' : 'TARGETS MISSED');
    process.exitCode = lost === 0 ? 0 : 1;
  } finally {
    await db.end();
  }
}

void main();
