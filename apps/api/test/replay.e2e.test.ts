import {
  type RecordedRequestInput,
  replayFactsPerEndpoint,
  ReplayReportSchema,
  type ReplayRequestBody,
} from '@gatehouse/contracts';
import { sampleRequestEvent } from '@gatehouse/contracts/testing';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/common/logger';
import { type CreateEndpointBody, EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { RequestLogBatchProcessor } from '../src/request-logs/request-log-ingestion';
import { deleteExpiredRequestLogs } from '../src/request-logs/request-log-retention';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { bodyOf, errorOf } from './http';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

/**
 * Replay of drafts on recorded traffic (issue 17 item 2) on real Postgres: events with replay facts go through the
 * worker's batch processor (what a data plane's batches go through), then POST /api/endpoints/{id}/replay.
 */

const ACTIVE = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: everything else
    actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`;

const DRAFT = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: token required
    expressions: ["!hasReqHeader('authorization')"]
    actions: [{ type: deny, config: { status_code: 401 } }]
  - name: per caller
    actions:
      - type: rate-limit
        config: { name: per-caller, algorithm: sliding_window, capacity: 3, rate: 60s, bucket_key: ["getReqHeader('authorization')[0]"] }
  - name: everything else
    actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`;

const logger = createLogger('silent');

describe('replay a draft on recorded traffic', () => {
  let testApp: TestApp;
  let admin: Agent;
  let viewer: Agent;
  let processor: RequestLogBatchProcessor;
  let endpointId: string;

  beforeAll(async () => {
    testApp = await createTestApp({ REQUEST_LOG_REDACT_HEADERS: 'x-api-key' });
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    viewer = await loginAs(testApp, admin, 'viewer');
    processor = new RequestLogBatchProcessor(
      testApp.app.get(RequestLogsRepository),
      testApp.redis,
      logger,
      testApp.env.REQUEST_LOG_REDACT_HEADERS,
    );
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
    const created = await admin
      .post('/api/endpoints')
      .send({ url: 'https://api.example.com', traffic_policy: ACTIVE } satisfies Partial<CreateEndpointBody>)
      .expect(201);
    endpointId = bodyOf(created, EndpointResponseSchema).id;
  });
  afterAll(async () => {
    await testApp?.close();
  });

  /** One recorded request as a data plane sends it; `index` seconds after a fixed start, oldest first. */
  const event = (index: number, facts: Partial<RecordedRequestInput>, recorded: { status?: number } = {}) => {
    const replay: RecordedRequestInput = {
      method: 'GET',
      scheme: 'https',
      host: 'api.example.com',
      port: '443',
      path: '/v1/items',
      query: 'page=2',
      headers: [['accept', 'application/json']],
      client_ip: '203.0.113.7',
      client_ip_categories: [],
      server_port: 443,
      tls: { version: '1.3', cipher_suite: 'TLS_AES_128_GCM_SHA256', sni: 'api.example.com' },
      mcp: null,
      ...facts,
    };
    const denied = replay.path.startsWith('/admin');
    return sampleRequestEvent({
      timestamp: new Date(Date.UTC(2026, 11, 6, 8, 0, index)).toISOString(),
      endpoint_id: endpointId,
      endpoint_url: 'https://api.example.com',
      policy_version: 1,
      host: replay.host,
      path: replay.path,
      status: recorded.status ?? (denied ? 403 : 200),
      decision: denied
        ? { phase: 'on_http_request', rule_index: 0, rule_name: 'block admin', action: 'deny' }
        : { phase: 'on_http_request', rule_index: 1, rule_name: 'everything else', action: 'forward-internal' },
      forwarded_to: denied ? null : 'https://api.internal',
      replay,
    });
  };

  const traffic = () => {
    const events = [];
    const bearer = (who: string): [string, string] => [
      'authorization',
      `Bearer redacted:sha256:${who.padStart(16, '0')}`,
    ];
    for (let index = 0; index < 6; index++) events.push(event(index, { headers: [bearer('a1')] })); // 3 new 429s
    for (let index = 6; index < 8; index++) events.push(event(index, { headers: [bearer('b2')] }));
    events.push(event(8, {})); // no token: allow → deny 401
    events.push(event(9, { path: '/admin/users', headers: [bearer('b2')] })); // unchanged 403
    return events;
  };

  const replay = async (body: ReplayRequestBody, agent: Agent = viewer) =>
    bodyOf(await agent.post(`/api/endpoints/${endpointId}/replay`).send(body).expect(200), ReplayReportSchema);

  it('answers the decision diff of a draft against the active version, each group with request-log ids', async () => {
    const events = traffic();
    await processor.processBatch({ source: 'test', events });
    const report = await replay({ traffic_policy: DRAFT });
    expect(report).toMatchObject({ requests: 10, changed: 4, unchanged: 6, baseline: { kind: 'active', version: 1 } });
    expect(report.groups.map((group) => [group.kind, group.count])).toEqual([
      ['new_rate_limit', 3],
      ['flip', 1],
    ]);
    const [limited, flipped] = report.groups;
    expect(limited!.summary).toMatch(/^3 new 429s for key sha256:[0-9a-f]{16} \(rule 2 "per caller", rate-limit\)$/);
    expect(limited!.example_request_ids).toEqual(events.slice(3, 6).map((sent) => sent.id));
    expect(flipped!.summary).toBe('1 request flips allow → deny 401 (rule 1 "token required", deny)');
    // Each example opens in the request log.
    const opened = await viewer.get(`/api/request-logs/${flipped!.example_request_ids[0]}`).expect(200);
    expect(opened.body).toMatchObject({ id: events[8]!.id, path: '/v1/items' });
    expect(report.from).toBe('2026-12-06T08:00:00.000Z');
    expect(report.to).toBe('2026-12-06T08:00:09.000Z');
    expect(report.notes.length).toBeGreaterThan(0);

    // The newest N only (the tokenless request and the admin one), and a stored version instead of a draft.
    expect(await replay({ traffic_policy: DRAFT, limit: 2 })).toMatchObject({ requests: 2, changed: 1 });
    expect(await replay({ version: 1 })).toMatchObject({ requests: 10, changed: 0, groups: [] });
  });

  it('compares with what was recorded: the draft against the data plane’s own decisions', async () => {
    const events = traffic();
    // The data plane answered this one 502 (upstream down): no rule decided, so it still counts as allowed.
    events.push(
      event(10, { headers: [['authorization', 'Bearer redacted:sha256:00000000000000c3']] }, { status: 502 }),
    );
    events.at(-1)!.decision = null;
    await processor.processBatch({ source: 'test', events });
    const report = await replay({ traffic_policy: ACTIVE, baseline: 'recorded' });
    expect(report).toMatchObject({ requests: 11, changed: 0, baseline: { kind: 'recorded', version: null } });
    const drafted = await replay({ traffic_policy: DRAFT, baseline: 'recorded' });
    expect(drafted.changed).toBe(4);
  });

  it('stores redacted headers as fingerprints, configured extras too, and keeps the newest per endpoint', async () => {
    const sent = event(0, {
      headers: [
        ['x-api-key', 'sk_live_secret'],
        ['accept', 'application/json'],
      ],
    });
    await processor.processBatch({ source: 'test', events: [sent] });
    const stored = await testApp.db.query<{ facts: RecordedRequestInput }>(
      'SELECT facts FROM request_replay_facts WHERE request_log_id = $1',
      [sent.id],
    );
    const headers = stored.rows[0]!.facts.headers;
    expect(JSON.stringify(headers)).not.toContain('sk_live_secret');
    expect(headers[0]![1]).toMatch(/^redacted:sha256:[0-9a-f]{16}$/);
    expect(headers[1]).toEqual(['accept', 'application/json']);

    // Fill the endpoint to its bound with SQL (the first batch's row and N - 1 more, numbered on from it as ingestion
    // numbers them), then one more batch: the oldest rows go, the newest stay.
    await testApp.db.query(
      `INSERT INTO request_logs (id, "timestamp", endpoint_id, method, host, path, status, duration_ms, client_ip,
         client_ip_categories)
       SELECT 'old_' || g, now() - interval '1 hour', $1, 'GET', 'api.example.com', '/', 200, 1, '203.0.113.7', '{}'
       FROM generate_series(1, $2::int) g`,
      [endpointId, replayFactsPerEndpoint - 1],
    );
    await testApp.db.query(
      `INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts)
       SELECT seq, id, endpoint_id,
         (SELECT max(ordinal) FROM request_replay_facts f WHERE f.endpoint_id = $1) + row_number() OVER (ORDER BY seq),
         $2::jsonb
       FROM request_logs WHERE id LIKE 'old_%' AND endpoint_id = $1`,
      [endpointId, JSON.stringify(event(0, {}).replay)],
    );
    const newest = [event(1, {}), event(2, {})];
    await processor.processBatch({ source: 'test', events: newest });
    const counted = await testApp.db.query<{ count: string }>(
      'SELECT count(*) AS count FROM request_replay_facts WHERE endpoint_id = $1',
      [endpointId],
    );
    expect(Number(counted.rows[0]!.count)).toBe(replayFactsPerEndpoint);
    const kept = await testApp.db.query<{ request_log_id: string }>(
      'SELECT request_log_id FROM request_replay_facts WHERE request_log_id = ANY($1) ORDER BY request_log_id',
      [[...newest.map((row) => row.id), sent.id, 'old_1', 'old_2']],
    );
    // The two newest are kept; the two oldest (the first batch's row and the first SQL row) were deleted.
    expect(kept.rows.map((row) => row.request_log_id).sort()).toEqual([...newest.map((row) => row.id), 'old_2'].sort());
    // Retention deletes a request-log row's facts with it, and only its.
    await testApp.db.query(`UPDATE request_logs SET "timestamp" = now() - interval '8 days' WHERE id = $1`, [
      newest[0]!.id,
    ]);
    expect(await deleteExpiredRequestLogs(testApp.app.get(RequestLogsRepository), 7)).toBe(1);
    const left = await testApp.db.query<{ request_log_id: string }>(
      'SELECT request_log_id FROM request_replay_facts WHERE request_log_id = ANY($1)',
      [newest.map((row) => row.id)],
    );
    expect(left.rows).toEqual([{ request_log_id: newest[1]!.id }]);
  });

  it('replaces a fact that outlived its row when the row’s seq comes round again, never pairing rows and facts of two requests', async () => {
    // request_logs truncated alone with RESTART IDENTITY: the seq sequence hands out seqs that stale facts still hold.
    const taken = Number(
      (await testApp.db.query<{ seq: string }>(`SELECT nextval(pg_get_serial_sequence('request_logs', 'seq')) AS seq`))
        .rows[0]!.seq,
    );
    const stale = (seq: number, path: string) =>
      testApp.db.query(
        `INSERT INTO request_replay_facts (seq, request_log_id, endpoint_id, ordinal, facts) VALUES ($1, $2, $3, 7, $4)`,
        [seq, `gone_${seq}`, endpointId, JSON.stringify({ ...event(0, { path }).replay, path })],
      );
    await stale(taken + 1, '/stale-1');
    await stale(taken + 2, '/stale-2');
    const recorded = event(0, { path: '/fresh' });
    const unrecorded = { ...event(1, { path: '/no-facts' }), replay: null };
    // Two batches, so the rows take the two seqs in this order.
    await processor.processBatch({ source: 'test', events: [recorded] });
    await processor.processBatch({ source: 'test', events: [unrecorded] });

    const facts = await testApp.db.query<{ seq: string; request_log_id: string; path: string }>(
      `SELECT seq, request_log_id, facts->>'path' AS path FROM request_replay_facts ORDER BY seq`,
    );
    expect(facts.rows).toEqual([
      { seq: String(taken + 1), request_log_id: recorded.id, path: '/fresh' },
      { seq: String(taken + 2), request_log_id: `gone_${taken + 2}`, path: '/stale-2' },
    ]);
    // The row without facts is not replayed with the stale ones its seq still finds.
    expect(await replay({ version: 1 })).toMatchObject({ requests: 1 });
  });

  it('refuses bad input with stable codes', async () => {
    const invalid = await viewer
      .post(`/api/endpoints/${endpointId}/replay`)
      .send({ traffic_policy: 'on_http_request: [{ actions: [{ type: nope }] }]' })
      .expect(400);
    expect(errorOf(invalid).error_code).toBe('POLICY_INVALID');
    const both = await viewer
      .post(`/api/endpoints/${endpointId}/replay`)
      .send({ traffic_policy: DRAFT, version: 1 })
      .expect(400);
    expect(errorOf(both).error_code).toBe('VALIDATION_FAILED');
    const noVersion = await viewer.post(`/api/endpoints/${endpointId}/replay`).send({ version: 9 }).expect(404);
    expect(errorOf(noVersion).error_code).toBe('POLICY_VERSION_NOT_FOUND');
    const noEndpoint = await viewer.post('/api/endpoints/ep_missing/replay').send({ version: 1 }).expect(404);
    expect(errorOf(noEndpoint).error_code).toBe('ENDPOINT_NOT_FOUND');
    const tooMany = await viewer
      .post(`/api/endpoints/${endpointId}/replay`)
      .send({ version: 1, limit: replayFactsPerEndpoint + 1 })
      .expect(400);
    expect(errorOf(tooMany).error_code).toBe('VALIDATION_FAILED');
    await testApp.http().post(`/api/endpoints/${endpointId}/replay`).send({ version: 1 }).expect(401);
  });
});
