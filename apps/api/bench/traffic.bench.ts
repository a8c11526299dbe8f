// `npm run bench:traffic -w @gatehouse/api`: latency of the overview's statistics (issue 19: each chart ≤ 300 ms at
// 10M request-log rows) through the real TrafficService, repository and Postgres.
//   1. Seeds BENCH_ROWS request_logs rows (default 10,000,000) spread over the last 7 days, 20 endpoints, 8% denied by
//      three rules, 3% rate limited, 1% 5xx, 30% MCP tool calls over 12 tools, and a different client address for
//      nearly every denial (the worst case for "top denied clients") — one generate_series INSERT.
//   2. Builds the rollups from those rows with the migration's own backfill statements (what ingestion would have
//      maintained), and prints how long that took.
//   3. Times every query the dashboard makes: the summary for 1h/24h/7d over all endpoints and for one endpoint, and
//      the endpoint list's 24 h totals; BENCH_RUNS (20) runs each after one warm-up, p50/p95/max.
// Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/gatehouse_bench, created and migrated
// when missing), BENCH_SEED=0 to reuse what an earlier run seeded.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaService } from '../src/database/prisma.service';
import { TrafficRepository } from '../src/traffic/traffic.repository';
import { TrafficService } from '../src/traffic/traffic.service';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gatehouse_bench';
const seededRows = Number(process.env.BENCH_ROWS ?? 10_000_000);
const seed = process.env.BENCH_SEED !== '0';
const runs = Number(process.env.BENCH_RUNS ?? 20);
const apiRoot = path.join(__dirname, '..');
const migration = path.join(apiRoot, '../../prisma/migrations/20261206030000_traffic_rollups/migration.sql');

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

async function timed<T>(label: string, client: pg.Client, sql: string): Promise<T> {
  const started = performance.now();
  const result = await client.query(sql);
  console.log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result as T;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(apiRoot, 'scripts/db-migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'inherit',
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  if (seed) {
    await client.query('TRUNCATE request_replay_facts, request_logs, traffic_rollups, traffic_rollup_keys');
    await client.query('SET synchronous_commit = off');
    await timed(
      `seeded ${seededRows} request_logs rows`,
      client,
      `INSERT INTO request_logs (id, "timestamp", endpoint_id, method, host, path, status, duration_ms, client_ip,
         client_ip_categories, decision, decision_action, mcp_tool)
       SELECT 'req_' || g, now() - (g * (interval '7 days' / ${seededRows})), 'ep_bench_' || (g % 20), 'POST',
         'mcp.example.com', '/mcp',
         CASE WHEN g % 100 < 8 THEN 403 WHEN g % 100 < 11 THEN 429 WHEN g % 100 = 11 THEN 502 ELSE 200 END,
         exp(random() * 6), '10.' || (g % 7) || '.' || ((g / 7) % 250) || '.' || (g % 241), '{}',
         CASE WHEN g % 100 < 8 THEN jsonb_build_object('phase', 'on_http_request', 'rule_index', g % 3,
                'rule_name', 'block-' || (g % 3), 'action', 'deny')
              WHEN g % 100 < 11 THEN jsonb_build_object('phase', 'on_http_request', 'rule_index', 4, 'action', 'rate-limit')
              ELSE jsonb_build_object('phase', 'on_http_request', 'rule_index', 5, 'action', 'forward-internal') END,
         CASE WHEN g % 100 < 8 THEN 'deny' WHEN g % 100 < 11 THEN 'rate-limit' ELSE 'forward-internal' END,
         CASE WHEN g % 10 < 3 THEN 'tool_' || (g % 12) END
       FROM generate_series(1, ${seededRows}) AS g`,
    );
    const sql = readFileSync(migration, 'utf8');
    await timed('rollups built by the migration backfill', client, sql.slice(sql.indexOf('WITH edges AS')));
    await client.query('ANALYZE request_logs; ANALYZE traffic_rollups; ANALYZE traffic_rollup_keys');
  }
  const counts = await client.query<{ logs: string; rollups: string; keys: string }>(
    `SELECT (SELECT count(*) FROM request_logs) AS logs, (SELECT count(*) FROM traffic_rollups) AS rollups,
       (SELECT count(*) FROM traffic_rollup_keys) AS keys`,
  );
  console.log(`rows: ${JSON.stringify(counts.rows[0])}`);
  await client.end();

  const prisma = new PrismaService(new PrismaPg({ connectionString: databaseUrl }));
  const service = new TrafficService(new TrafficRepository(prisma));
  // The bench's endpoints are not in `endpoints`: the one-endpoint summary skips the existence check like this.
  const oneEndpoint = 'ep_bench_7';
  const repository = new TrafficRepository(prisma);
  repository.endpointExists = () => Promise.resolve(true);
  const scopedService = new TrafficService(repository);
  const cases: [string, () => Promise<unknown>][] = [];
  for (const range of ['1h', '24h', '7d'] as const) {
    cases.push([`summary range=${range}`, () => service.summary({ range })]);
    cases.push([
      `summary range=${range} endpoint_id`,
      () => scopedService.summary({ range, endpoint_id: oneEndpoint }),
    ]);
  }
  cases.push(['endpoints range=24h', () => service.endpoints({ range: '24h' })]);
  console.log(`\n${'query'.padEnd(34)} p50 ms   p95 ms   max ms`);
  for (const [label, run] of cases) {
    await run();
    const timings: number[] = [];
    for (let index = 0; index < runs; index += 1) {
      const started = performance.now();
      await run();
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    const format = (value: number) => value.toFixed(1).padStart(7);
    console.log(
      `${label.padEnd(34)}${format(percentile(timings, 0.5))}  ${format(percentile(timings, 0.95))}  ${format(timings.at(-1)!)}`,
    );
  }
  await prisma.$disconnect();
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
