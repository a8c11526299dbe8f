import { unwrap } from '@gatehouse/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDistributedShape, type Shape } from './shapes.js';
import { ApiClient } from './support/api.js';
import { GatewayClient, type SentRequest } from './support/gateway.js';
import { waitFor } from './support/processes.js';

/**
 * "What would this draft do?" (issue 17 item 2) on the distributed shape: real data planes record the requests they
 * route, the worker stores the facts with the request log in Postgres (through Redis/BullMQ), and the API replays a
 * draft on them and answers the decision diff, each group's examples opening in the request log.
 */

const activePolicy = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: answer
    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]
`;

const draftPolicy = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: token required
    expressions: ["!hasReqHeader('authorization')"]
    actions: [{ type: deny, config: { status_code: 401, body: Authorization required } }]
  - name: per token
    actions:
      - type: rate-limit
        config: { name: per-token, algorithm: sliding_window, capacity: 5, rate: 60s, bucket_key: ["getReqHeader('authorization')[0]"] }
  - name: answer
    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]
`;

describe('replay a draft on traffic recorded by real data planes (distributed shape)', () => {
  let shape: Shape | undefined;
  let api: ApiClient;
  let endpointId: string;
  const sent: SentRequest[] = [];

  beforeAll(async () => {
    shape = await startDistributedShape({ trustedProxies: [] });
    api = new ApiClient(shape.apiUrl);
    expect((await api.login(shape.admin.email, shape.admin.password)).status).toBe(200);
    const created = await api.createEndpoint({ url: 'https://replay.example.com', traffic_policy: activePolicy });
    expect(created.status).toBe(201);
    endpointId = created.body.id;
    // Both data planes must serve the endpoint before traffic is sent.
    for (const dataplane of shape.dataplanes) {
      const gateway = new GatewayClient(dataplane.name, dataplane.trafficPort, 'replay.example.com', sent);
      await waitFor(async () => (await gateway.send({ check: 'warm-up', method: 'GET' })).status === 200, {
        timeoutMs: 30_000,
        what: `${dataplane.name} serving replay.example.com`,
      });
    }
  }, 180_000);

  afterAll(async () => {
    await shape?.stop();
  }, 60_000);

  it('groups what the draft changes — new 401s, new 429s for one token — with examples in the request log', async () => {
    const [first, second] = shape!.dataplanes.map(
      (dataplane) => new GatewayClient(dataplane.name, dataplane.trafficPort, 'replay.example.com', sent),
    );
    const token = { authorization: 'Bearer e2e-replay-token-1' };
    // 8 with one token (3 over the draft's 5 per minute), alternating between the data planes; 2 without a token
    // (the warm-ups that were answered count too).
    for (let index = 0; index < 8; index++)
      expect((await (index % 2 === 0 ? first! : second!).send({ check: `t${index}`, headers: token })).status).toBe(
        200,
      );
    expect((await first!.send({ check: 'anonymous-1' })).status).toBe(200);
    expect((await second!.send({ check: 'anonymous-2' })).status).toBe(200);
    // Only answered requests were routed to the endpoint (a warm-up before the config arrived was not).
    const expected = sent.filter((request) => request.status === 200).length;
    await waitFor(async () => (await api.listRequestLogs(endpointId)).length >= expected, {
      timeoutMs: 30_000,
      what: 'every request in the request log',
    });

    const report = await unwrap(
      api.client.POST('/api/endpoints/{id}/replay', {
        params: { path: { id: endpointId } },
        body: { traffic_policy: draftPolicy },
      }),
    );
    expect(report.requests).toBe(expected);
    const byKind = new Map(report.groups.map((group) => [group.kind, group]));
    // Every request without a token flips: the two warm-ups and the two anonymous ones.
    expect(byKind.get('flip')).toMatchObject({ count: 4, to: { status: 401, rule_name: 'token required' } });
    const limited = byKind.get('new_rate_limit')!;
    expect(limited).toMatchObject({ count: 3, to: { status: 429, rule_name: 'per token' } });
    expect(limited.rate_limit_key).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(limited.summary).toContain(`3 new 429s for key ${limited.rate_limit_key}`);
    // The token itself never reached storage: neither the report nor the stored facts contain it.
    expect(JSON.stringify(report)).not.toContain('e2e-replay-token-1');

    // Each example opens in the request log: the rate-limited ones are the last three requests with the token.
    const opened = await Promise.all(
      limited.example_request_ids.map((id) =>
        unwrap(api.client.GET('/api/request-logs/{id}', { params: { path: { id } } })),
      ),
    );
    expect(opened.map((row) => new URLSearchParams(row.query).get('check')).sort()).toEqual(['t5', 't6', 't7']);

    // Against what the data planes actually did, the active version itself changes nothing.
    const recorded = await unwrap(
      api.client.POST('/api/endpoints/{id}/replay', {
        params: { path: { id: endpointId } },
        body: { version: 1, baseline: 'recorded' },
      }),
    );
    expect(recorded).toMatchObject({ requests: expected, changed: 0 });
  }, 120_000);
});
