import {
  type RequestEventInput,
  TrafficEndpointsSchema,
  TrafficSummarySchema,
  type TrafficSummary,
} from '@gatehouse/contracts';
import { sampleRequestEvent } from '@gatehouse/contracts/testing';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/common/logger';
import { RequestLogBatchProcessor } from '../src/request-logs/request-log-ingestion';
import { deleteExpiredRequestLogs } from '../src/request-logs/request-log-retention';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { bodyOf, errorOf } from './http';
import { DENY_ALL_POLICY } from './policies';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

describe('traffic statistics', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let viewer: TestAgent;
  let processor: RequestLogBatchProcessor;
  let endpointId: string;
  let otherEndpointId: string;

  const ago = (milliseconds: number) => new Date(Date.now() - milliseconds).toISOString();
  const event = (overrides: Partial<RequestEventInput>) =>
    sampleRequestEvent({ endpoint_id: endpointId, timestamp: ago(5_000), ...overrides });
  const deny = (overrides: Partial<RequestEventInput> = {}) =>
    event({
      status: 403,
      forwarded_to: null,
      decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'block-scanners', action: 'deny' },
      mcp: null,
      ...overrides,
    });
  const summary = async (query: string, agent: TestAgent = viewer): Promise<TrafficSummary> =>
    bodyOf(await agent.get(`/api/traffic/summary?${query}`).expect(200), TrafficSummarySchema);

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    viewer = await loginAs(testApp, admin, 'viewer');
    processor = new RequestLogBatchProcessor(testApp.app.get(RequestLogsRepository), testApp.redis, logger, []);
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
    const create = async (url: string) =>
      (await admin.post('/api/endpoints').send({ url, traffic_policy: DENY_ALL_POLICY }).expect(201)).body as {
        id: string;
      };
    endpointId = (await create('https://stats.example.com')).id;
    otherEndpointId = (await create('https://other.example.com')).id;
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('counts requests, denials by rule, 429s, upstream errors, latency and the top lists from ingested logs', async () => {
    const batch = [
      ...[10, 20, 30, 40].map((duration) => event({ duration_ms: duration })),
      deny({ client_ip: '203.0.113.7' }),
      deny({ client_ip: '203.0.113.7' }),
      deny({
        client_ip: '198.51.100.1',
        decision: { phase: 'on_http_request', rule_index: 2, rule_name: null, action: 'jwt-validation' },
        status: 401,
      }),
      event({
        status: 429,
        decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'limit', action: 'rate-limit' },
        mcp: { method: 'tools/call', tool: 'delete_everything', protocol_version: '2025-06-18' },
      }),
      event({ status: 502, error_code: 'FORWARD_TARGET_OFFLINE' }),
      event({ endpoint_id: otherEndpointId }),
      // tools/list names no tool: counted as a request, not as a tool.
      event({ mcp: { method: 'tools/list', tool: '', protocol_version: '2025-06-18' } }),
      // Older than the 1 h window, inside 24 h.
      event({ timestamp: ago(3 * 60 * 60 * 1000) }),
    ];
    // Delivered twice (at-least-once): the duplicates must not count again.
    await processor.processBatch({ source: 'test', events: batch });
    await processor.processBatch({ source: 'test', events: batch });

    const hour = await summary(`range=1h&endpoint_id=${endpointId}`);
    expect(hour).toMatchObject({
      range: '1h',
      endpoint_id: endpointId,
      bucket_seconds: 60,
      totals: { requests: 10, denied: 3, rate_limited: 1, upstream_errors: 1 },
      top_denied_clients: [
        { client_ip: '203.0.113.7', count: 2 },
        { client_ip: '198.51.100.1', count: 1 },
      ],
    });
    expect(hour.series).toHaveLength(60);
    expect(Date.parse(hour.to) - Date.parse(hour.from)).toBe(60 * 60 * 1000);
    expect(hour.series.reduce((sum, point) => sum + point.requests, 0)).toBe(10);
    expect(hour.top_denied_rules).toEqual([
      {
        key: `${endpointId}:on_http_request:0`,
        endpoint_id: endpointId,
        phase: 'on_http_request',
        rule_index: 0,
        rule_name: 'block-scanners',
        count: 2,
      },
      {
        key: `${endpointId}:on_http_request:2`,
        endpoint_id: endpointId,
        phase: 'on_http_request',
        rule_index: 2,
        rule_name: null,
        count: 1,
      },
    ]);
    const busy = hour.series.find((point) => point.requests > 0);
    expect(busy?.denied_by_rule).toEqual({
      [`${endpointId}:on_http_request:0`]: 2,
      [`${endpointId}:on_http_request:2`]: 1,
    });
    // sample events are tools/call "search" unless overridden (denials carry no MCP here).
    expect(hour.top_mcp_tools).toEqual([
      { tool: 'search', count: 5 },
      { tool: 'delete_everything', count: 1 },
    ]);
    // 3.5 ms × 6 (sample default) + 10/20/30/40: p50 is interpolated inside the 3–4 ms bin, p95 inside the bin of
    // the 40 ms request ([40, 50)).
    expect(hour.totals.p50_ms).toBeGreaterThanOrEqual(3);
    expect(hour.totals.p50_ms).toBeLessThan(4);
    expect(hour.totals.p95_ms).toBeGreaterThanOrEqual(40);
    expect(hour.totals.p95_ms).toBeLessThan(50);

    const day = await summary('range=24h');
    expect(day).toMatchObject({ endpoint_id: null, bucket_seconds: 900, totals: { requests: 12 } });
    expect(day.series).toHaveLength(96);
    const week = await summary('range=7d');
    expect(week.series).toHaveLength(168);
    expect(week.totals.requests).toBe(12);

    const totals = bodyOf(await viewer.get('/api/traffic/endpoints?range=24h').expect(200), TrafficEndpointsSchema);
    expect(totals.endpoints).toEqual([
      { endpoint_id: endpointId, requests: 11, denied: 3, rate_limited: 1, upstream_errors: 1 },
      { endpoint_id: otherEndpointId, requests: 1, denied: 0, rate_limited: 0, upstream_errors: 0 },
    ]);
  });

  it("the migration's backfill builds the same rollups as ingestion", async () => {
    await processor.processBatch({
      source: 'test',
      events: [
        event({ duration_ms: 0.2 }),
        event({ duration_ms: 75_000, status: 504 }),
        deny({ client_ip: '203.0.113.7' }),
        deny({
          endpoint_id: null,
          decision: { phase: 'on_tcp_connect', rule_index: 1, rule_name: null, action: 'restrict-ips' },
        }),
        event({
          status: 429,
          decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'limit', action: 'rate-limit' },
        }),
        event({ mcp: { method: 'tools/list', tool: '', protocol_version: '2025-06-18' } }),
        event({ endpoint_id: otherEndpointId, timestamp: ago(2 * 60 * 60 * 1000) }),
      ],
    });
    const snapshot = async () => [
      (await testApp.db.query('SELECT * FROM traffic_rollups ORDER BY resolution, endpoint_id, bucket')).rows,
      (await testApp.db.query('SELECT * FROM traffic_rollup_keys ORDER BY resolution, kind, endpoint_id, bucket, key'))
        .rows,
    ];
    const ingested = await snapshot();
    const migration = readFileSync(
      path.join(__dirname, '../../../prisma/migrations/20261206030000_traffic_rollups/migration.sql'),
      'utf8',
    );
    await testApp.db.query('TRUNCATE traffic_rollups, traffic_rollup_keys');
    await testApp.db.query(migration.slice(migration.indexOf('WITH edges AS')));
    expect(await snapshot()).toEqual(ingested);
  });

  it('answers zeros and empty lists when nothing was logged', async () => {
    const empty = await summary('');
    expect(empty.range).toBe('24h');
    expect(empty.totals).toEqual({
      requests: 0,
      denied: 0,
      rate_limited: 0,
      upstream_errors: 0,
      p50_ms: null,
      p95_ms: null,
    });
    expect(empty.series.every((point) => point.requests === 0 && point.p95_ms === null)).toBe(true);
    expect([empty.top_denied_rules, empty.top_denied_clients, empty.top_mcp_tools]).toEqual([[], [], []]);
  });

  it('expires the rollups with the request logs they count', async () => {
    await processor.processBatch({ source: 'test', events: [event({ timestamp: ago(8 * 24 * 60 * 60 * 1000) })] });
    const rows = async () =>
      Number((await testApp.db.query<{ n: string }>('SELECT count(*) AS n FROM traffic_rollups')).rows[0]?.n);
    // Three resolutions, each for the endpoint and for all endpoints together.
    expect(await rows()).toBe(6);
    await deleteExpiredRequestLogs(testApp.app.get(RequestLogsRepository), 7);
    expect(await rows()).toBe(0);
  });

  it('keeps the largest 100 keys per bucket when every denial comes from another address', async () => {
    const scan = Array.from({ length: 150 }, (_, index) =>
      deny({ client_ip: `198.18.${Math.floor(index / 250)}.${index % 250}` }),
    );
    const repeated = Array.from({ length: 5 }, () => deny({ client_ip: '203.0.113.66' }));
    await processor.processBatch({ source: 'test', events: scan.slice(0, 80) });
    await processor.processBatch({ source: 'test', events: [...repeated, ...scan.slice(80)] });
    const largestGroup = await testApp.db.query<{ n: string }>(
      `SELECT max(n) AS n FROM (SELECT count(*) AS n FROM traffic_rollup_keys WHERE kind = 'denied_client'
         GROUP BY resolution, kind, endpoint_id, bucket) groups`,
    );
    expect(Number(largestGroup.rows[0]?.n)).toBe(100);
    const hour = await summary('range=1h');
    expect(hour.totals.denied).toBe(155);
    expect(hour.top_denied_clients[0]).toEqual({ client_ip: '203.0.113.66', count: 5 });
    expect(hour.top_denied_clients).toHaveLength(10);
  });

  it('rejects bad queries with stable codes and requires a session', async () => {
    for (const query of ['range=30d', 'range=', 'endpoint=ep_x', 'range=1h&limit=5', 'endpoint_id=']) {
      const response = await viewer.get(`/api/traffic/summary?${query}`).expect(400);
      expect(errorOf(response).error_code).toBe('VALIDATION_FAILED');
    }
    const missing = await viewer.get('/api/traffic/summary?endpoint_id=ep_missing').expect(404);
    expect(errorOf(missing).error_code).toBe('ENDPOINT_NOT_FOUND');
    expect(errorOf(await viewer.get('/api/traffic/endpoints?range=2h').expect(400)).error_code).toBe(
      'VALIDATION_FAILED',
    );
    const anonymous = await testApp.http().get('/api/traffic/summary').expect(401);
    expect(errorOf(anonymous).error_code).toBe('UNAUTHENTICATED');
  });
});
