// `npm run bench:replay -w @gatehouse/api` (also part of `npm run bench`): "what would this draft do?" over the newest
// 10,000 recorded requests of an endpoint against a 20-rule draft (issue 17: ≤ 5 s on this machine), through the real
// ReplayService, repository and Postgres — load the facts, evaluate the draft and the active version with the
// engine's memory ports, diff — and the same with baseline `recorded` (one evaluation pass).
// Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/gatehouse_bench, migrated; its
// request_logs emptied), BENCH_REPLAY_REQUESTS (10000), BENCH_RUNS (5).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { RecordedRequestInput } from '@gatehouse/contracts';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createLogger } from '../src/common/logger';
import { PrismaService } from '../src/database/prisma.service';
import { parseEnv } from '../src/env';
import { ReplayRepository } from '../src/replay/replay.repository';
import { ReplayService } from '../src/replay/replay.service';
import { InternalEndpointUrlsRepository } from '../src/traffic-policy/internal-endpoint-urls.repository';
import { OutboundTargetsService } from '../src/traffic-policy/outbound-targets.service';
import { PolicyValidationService } from '../src/traffic-policy/policy-validation.service';
import { SecretNamesRepository } from '../src/traffic-policy/secret-names.repository';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gatehouse_bench';
const requestCount = Number(process.env.BENCH_REPLAY_REQUESTS ?? 10_000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const targetMs = 5_000;
const apiRoot = path.join(__dirname, '..');
const endpointId = 'ep_bench_replay';

/** 20 rules of the kinds real policies have: category and header checks, regexes, a rate limit, headers, forwarding. */
function policyText(draft: boolean): string {
  const rules: string[] = [];
  rules.push(`  - name: partners only
    expressions: ["!('com.anthropic.api' in conn.client_ip.categories) && req.url.path.startsWith('/partner')"]
    actions: [{ type: deny, config: { status_code: 403 } }]`);
  for (let index = 0; index < 12; index++)
    rules.push(`  - name: block ${index}
    expressions: ["req.url.path.startsWith('/blocked/${index}/') || req.method == 'TRACE'"]
    actions: [{ type: deny, config: { status_code: 404 } }]`);
  rules.push(`  - name: scanners
    expressions: ["req.url.path.matches('[.](php|asp|env)$') || (hasReqHeader('user-agent') && getReqHeader('user-agent')[0].contains('sqlmap'))"]
    actions: [{ type: deny, config: { status_code: 400 } }]`);
  rules.push(`  - name: token required
    expressions: ["${draft ? "!hasReqHeader('authorization')" : 'false'}"]
    actions: [{ type: deny, config: { status_code: 401, body: "Authorization required" } }]`);
  rules.push(`  - name: admin tools
    expressions: ["req.url.path == '/mcp' && hasReqHeader('x-admin') && getReqHeader('x-admin')[0] != 'yes'"]
    actions: [{ type: deny, config: { status_code: 403 } }]`);
  rules.push(`  - name: per caller
    expressions: ["hasReqHeader('authorization')"]
    actions:
      - type: rate-limit
        config: { name: per-caller, algorithm: sliding_window, capacity: ${draft ? 20 : 100}, rate: 60s, bucket_key: ["getReqHeader('authorization')[0]"] }`);
  rules.push(`  - name: tag
    actions: [{ type: add-headers, config: { headers: { x-client: "\${conn.client_ip}", x-path: "\${req.url.path}" } } }]`);
  rules.push(`  - name: reports
    expressions: ["req.url.path.startsWith('/reports') && req.url.query.contains('export=1')"]
    actions: [{ type: custom-response, config: { status_code: 202, body: "queued" } }]`);
  rules.push(`  - name: forward
    actions: [{ type: forward-internal, config: { url: https://mcp.example.internal } }]`);
  if (rules.length !== 20) throw new Error(`the bench policy has ${rules.length} rules, not 20`);
  return `on_http_request:\n${rules.join('\n')}\n`;
}

function recordedRequest(index: number): RecordedRequestInput {
  const kind = index % 20;
  const headers: [string, string][] = [
    ['host', 'mcp.example.com'],
    ['content-type', 'application/json'],
    ['accept', 'application/json, text/event-stream'],
    ['user-agent', kind === 7 ? 'sqlmap/1.7' : 'claude-mcp/1.0'],
  ];
  if (kind !== 1)
    headers.push(['authorization', `Bearer redacted:sha256:${(index % 50).toString(16).padStart(16, '0')}`]);
  const path =
    kind === 3 ? `/blocked/${index % 12}/x` : kind === 5 ? '/partner/feed' : kind === 9 ? '/wp-login.php' : '/mcp';
  return {
    method: 'POST',
    scheme: 'https',
    host: 'mcp.example.com',
    port: '443',
    path,
    query: kind === 11 ? 'export=1' : '',
    headers,
    client_ip: kind === 5 ? '198.51.100.9' : `160.79.104.${index % 250}`,
    client_ip_categories: kind === 5 ? [] : ['com.anthropic.api'],
    server_port: 443,
    tls: { version: '1.3', cipher_suite: 'TLS_AES_128_GCM_SHA256', sni: 'mcp.example.com' },
    mcp: {
      kind: 'request',
      method: 'tools/call',
      tool: `tool_${index % 12}`,
      protocol_version: '2025-06-18',
      session_id: '',
    },
  };
}

async function seed(client: pg.Client): Promise<void> {
  await client.query('TRUNCATE request_replay_facts, request_logs');
  await client.query('DELETE FROM endpoints WHERE id = $1', [endpointId]);
  await client.query(
    `INSERT INTO endpoints (id, url, type, proto, host, port, active_policy_version, updated_at)
     VALUES ($1, 'https://mcp.example.com', 'cloud', 'https', 'mcp.example.com', 443, 1, now())`,
    [endpointId],
  );
  await client.query(
    `INSERT INTO policy_versions (endpoint_id, version, source, sha256, message) VALUES ($1, 1, $2, repeat('0', 64), 'bench')`,
    [endpointId, policyText(false)],
  );
  const start = Date.now() - requestCount * 50;
  for (let offset = 0; offset < requestCount; offset += 2_000) {
    const rows = [];
    for (let index = offset; index < Math.min(requestCount, offset + 2_000); index++)
      rows.push({
        id: `req_bench_${index}`,
        ts: new Date(start + index * 50).toISOString(),
        facts: recordedRequest(index),
      });
    await client.query(
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, ts timestamptz, facts jsonb)),
       logs AS (
         INSERT INTO request_logs (id, "timestamp", endpoint_id, method, host, path, status, duration_ms, client_ip,
           client_ip_categories, decision, forwarded_to)
         SELECT id, ts, $2, 'POST', 'mcp.example.com', facts->>'path', 200, 1, facts->>'client_ip', '{}',
           '{"phase":"on_http_request","rule_index":19,"rule_name":"forward","action":"forward-internal"}',
           'https://mcp.example.internal' FROM x
         RETURNING id, seq)
       INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts)
       SELECT logs.seq, logs.id, $2, $3::bigint + row_number() OVER (ORDER BY logs.seq), x.facts FROM logs JOIN x ON x.id = logs.id`,
      [JSON.stringify(rows), endpointId, offset],
    );
  }
  await client.query('ANALYZE request_logs; ANALYZE request_replay_facts');
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(apiRoot, 'scripts/db-migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'inherit',
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await seed(client);
  await client.end();

  const env = parseEnv({ DATABASE_URL: databaseUrl, GATEHOUSE_DATAPLANE_TOKEN: 'bench-dataplane-token-0123456789' });
  const prisma = new PrismaService(new PrismaPg({ connectionString: databaseUrl }));
  const validation = new PolicyValidationService(
    createLogger('silent'),
    new InternalEndpointUrlsRepository(prisma),
    new SecretNamesRepository(prisma),
    new OutboundTargetsService(env),
  );
  const service = new ReplayService(new ReplayRepository(prisma), validation);
  const draft = policyText(true);
  const cases = [
    { label: 'draft vs active version (2 passes)', body: { traffic_policy: draft, limit: requestCount } },
    {
      label: 'draft vs recorded (1 pass)',
      body: { traffic_policy: draft, limit: requestCount, baseline: 'recorded' as const },
    },
  ];
  console.log(
    `replay of ${requestCount} recorded requests, 20-rule draft, ${runs} runs after one warm-up (target ≤ ${targetMs} ms)`,
  );
  console.log('| case | p50 ms | max ms | requests/s (p50) | target / p50 | changed | groups |');
  console.log('|---|---|---|---|---|---|---|');
  for (const { label, body } of cases) {
    const report = await service.replayPolicy(endpointId, body);
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await service.replayPolicy(endpointId, body);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)]!;
    console.log(
      `| ${label} | ${p50.toFixed(0)} | ${times.at(-1)!.toFixed(0)} | ${Math.round((report.requests / p50) * 1000)} | ${(targetMs / p50).toFixed(2)}× | ${report.changed} | ${report.groups.length} |`,
    );
    if (report.requests !== requestCount) throw new Error(`replayed ${report.requests}, expected ${requestCount}`);
  }
  const report = await service.replayPolicy(endpointId, cases[0]!.body);
  for (const group of report.groups.slice(0, 5)) console.log(`  ${group.summary}`);
  await prisma.$disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
