import { PolicyRuleStatsSchema, type HeartbeatRequest, type RuleCounterDelta } from '@gatehouse/contracts';
import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RuleCountersService } from '../src/rule-counters/rule-counters.service';
import { bodyOf, errorOf } from './http';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_DATAPLANE_TOKEN } from './test-env';

const POLICY = `on_http_request:
  - expressions: ["req.url.path == '/deny'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions: [{ type: custom-response, config: { status_code: 200 } }]
`;

describe('per-rule counters (issue 17 item 4)', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let viewer: TestAgent;
  let endpointId: string;

  const delta = (overrides: Partial<RuleCounterDelta>): RuleCounterDelta => ({
    endpoint_id: endpointId,
    policy_version: 1,
    phase: 'on_http_request',
    rule_index: 0,
    evaluations: 10,
    hits: 4,
    denies: 4,
    latency_ms_sum: 2,
    last_match_ms: Date.now() - 1_000,
    ...overrides,
  });
  const stats = async (query = '') =>
    bodyOf(
      await viewer.get(`/api/endpoints/${endpointId}/policy/rule-stats${query}`).expect(200),
      PolicyRuleStatsSchema,
    );

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    viewer = await loginAs(testApp, admin, 'viewer');
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
    const created = await admin
      .post('/api/endpoints')
      .send({ url: 'https://counted.example.com', traffic_policy: POLICY })
      .expect(201);
    endpointId = (created.body as { id: string }).id;
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('adds the deltas heartbeats carry and answers the active version per rule', async () => {
    const heartbeat = (counters: RuleCounterDelta[]) =>
      testApp
        .http()
        .post('/api/dataplane/heartbeat')
        .set('authorization', `Bearer ${TEST_DATAPLANE_TOKEN}`)
        .send({
          id: 'dp-counters',
          hostname: 'host',
          version: '1',
          applied_revision: 0,
          rule_counters: counters,
        } satisfies HeartbeatRequest)
        .expect(200);
    await heartbeat([delta({}), delta({ rule_index: 1, evaluations: 6, hits: 6, denies: 0, latency_ms_sum: 3 })]);
    // Two data planes (or two heartbeats) reporting the same rule in one bucket add up.
    await heartbeat([delta({ evaluations: 2, hits: 1, denies: 1, latency_ms_sum: 1, last_match_ms: null })]);

    const answer = await stats();
    expect(answer.policy_version).toBe(1);
    expect(answer.rules).toEqual([
      {
        phase: 'on_http_request',
        rule_index: 0,
        last_hour: { evaluations: 12, hits: 5, denies: 5, avg_latency_ms: 0.25 },
        last_day: { evaluations: 12, hits: 5, denies: 5, avg_latency_ms: 0.25 },
        last_match_at: expect.any(String) as string,
      },
      {
        phase: 'on_http_request',
        rule_index: 1,
        last_hour: { evaluations: 6, hits: 6, denies: 0, avg_latency_ms: 0.5 },
        last_day: { evaluations: 6, hits: 6, denies: 0, avg_latency_ms: 0.5 },
        last_match_at: expect.any(String) as string,
      },
    ]);
    // Another version has counters of its own (none yet); a version the endpoint never had is a 404.
    await admin
      .post(`/api/endpoints/${endpointId}/policy-versions`)
      .send({ traffic_policy: `${POLICY}# v2\n` })
      .expect(201);
    expect((await stats('?version=2')).rules).toEqual([]);
    const missing = await viewer.get(`/api/endpoints/${endpointId}/policy/rule-stats?version=3`).expect(404);
    expect(errorOf(missing).error_code).toBe('POLICY_VERSION_NOT_FOUND');
  });

  it('splits the last hour from the last day and drops rows past retention', async () => {
    const service = testApp.app.get(RuleCountersService);
    const now = Date.now();
    await service.recordHeartbeatCounters(
      [delta({ evaluations: 1, hits: 1, denies: 0 })],
      new Date(now - 3 * 3600_000),
    );
    await service.recordHeartbeatCounters([delta({ evaluations: 2, hits: 2, denies: 2 })], new Date(now - 60_000));
    const [rule] = (await stats()).rules;
    expect(rule!.last_hour).toMatchObject({ evaluations: 2, hits: 2, denies: 2 });
    expect(rule!.last_day).toMatchObject({ evaluations: 3, hits: 3, denies: 2 });
    // A row older than 25 h is deleted by the next heartbeat's retention pass, and was out of the day already.
    await service.recordHeartbeatCounters([delta({})], new Date(now - 26 * 3600_000));
    await service.recordHeartbeatCounters([], new Date(now + 10 * 60_000));
    const { rows } = await testApp.db.query<{ count: string }>(
      `SELECT count(*) FROM policy_rule_counters WHERE bucket < now() - interval '25 hours'`,
    );
    expect(rows[0]!.count).toBe('0');
  });

  it('answers 404 for an unknown endpoint, 400 for a bad version and 401 without a session', async () => {
    expect(errorOf(await viewer.get('/api/endpoints/ep_missing/policy/rule-stats').expect(404)).error_code).toBe(
      'ENDPOINT_NOT_FOUND',
    );
    expect(
      errorOf(await viewer.get(`/api/endpoints/${endpointId}/policy/rule-stats?version=0`).expect(400)).error_code,
    ).toBe('VALIDATION_FAILED');
    await testApp.http().get(`/api/endpoints/${endpointId}/policy/rule-stats`).expect(401);
  });
});
