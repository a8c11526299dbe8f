import type { Agent, Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { bodyOf, errorOf } from './http';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

/**
 * Bad input on the routes of issue 17 — replay, shadow policy (publish, discard, promote) and rule stats: every case
 * is a 4xx with its stable error code, never a 500 (real Postgres and Redis, the real Nest app).
 */

const POLICY = `on_http_request:
  - actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`;

describe('issue 17 routes refuse bad input with stable codes', () => {
  let testApp: TestApp;
  let admin: Agent;
  let endpointId: string;

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    const created = await admin
      .post('/api/endpoints')
      .send({ url: 'https://probe.example.com', traffic_policy: POLICY })
      .expect(201);
    endpointId = bodyOf(created, EndpointResponseSchema).id;
  });
  afterAll(async () => {
    await testApp?.close();
  });

  const badIds = [
    'ep_missing',
    'x'.repeat(5_000),
    encodeURIComponent("ep_' OR 1=1 --"),
    encodeURIComponent('💥'),
    encodeURIComponent('../../users'),
  ];
  /** A NUL no Postgres text can hold: refused as bad input (it was a 500 from the database). */
  const nul = '%00';
  const nulRefused = (request: Test) => refused(request, 400, 'VALIDATION_FAILED');

  /** A request that must be refused with `status` and `code`. */
  async function refused(request: Test, status: number, code: string): Promise<void> {
    const what = `${request.method} ${request.url.slice(0, 120)}`;
    const response = await request;
    expect(
      { status: response.status, code: (response.body as { error_code?: string }).error_code },
      `${what}: ${JSON.stringify(response.body).slice(0, 300)}`,
    ).toEqual({ status, code });
    expect(errorOf(response).message).not.toBe('');
  }

  const raw = (request: Test, body: string) => request.set('content-type', 'application/json').send(body);

  it('POST /endpoints/{id}/replay', async () => {
    const replay = () => admin.post(`/api/endpoints/${endpointId}/replay`);
    for (const id of badIds)
      await refused(admin.post(`/api/endpoints/${id}/replay`).send({ version: 1 }), 404, 'ENDPOINT_NOT_FOUND');
    await nulRefused(admin.post(`/api/endpoints/${nul}/replay`).send({ version: 1 }));
    for (const body of [
      {},
      { version: '1' },
      { version: 1.5 },
      { version: 0 },
      { version: -1 },
      { version: Number.MAX_SAFE_INTEGER + 2 },
      { version: 1, limit: 1e12 },
      { version: 1, limit: '10' },
      { version: 1, limit: 0 },
      { traffic_policy: 123 },
      { traffic_policy: '' },
      { traffic_policy: ['a'] },
      { version: 1, baseline: 'nope' },
      { version: 1, baseline: { kind: 'nope' } },
      { version: 1, unknown: true },
      [],
      [{ version: 1 }],
    ])
      await refused(replay().send(body), 400, 'VALIDATION_FAILED');
    // The JSON parser takes objects and arrays only.
    for (const body of ['null', '"text"', '42', 'true']) await refused(raw(replay(), body), 400, 'MALFORMED_JSON');
    await refused(raw(replay(), '{"version": 1,'), 400, 'MALFORMED_JSON');
    // Beyond a Postgres integer (the version column): bad input, not a failed query.
    for (const body of [{ version: 2 ** 31 }, { version: 1, baseline: 2 ** 31 }, { version: 1, baseline: 'nope' }])
      await refused(replay().send(body), 400, 'VALIDATION_FAILED');
    await refused(replay().send({ version: 99 }), 404, 'POLICY_VERSION_NOT_FOUND');
    await refused(replay().send({ version: 1, baseline: 99 }), 404, 'POLICY_VERSION_NOT_FOUND');
    // Not a policy: YAML that is not an object, a deeply nested document, a mapping of the wrong shape.
    for (const text of ['on_http_request: 5', '['.repeat(20_000), 'a: &a [*a]', 'on_http_request: [{ actions: 7 }]'])
      await refused(replay().send({ traffic_policy: text }), 400, 'POLICY_INVALID');
  });

  it('PUT and DELETE /endpoints/{id}/shadow-policy', async () => {
    const publish = () => admin.put(`/api/endpoints/${endpointId}/shadow-policy`);
    for (const id of badIds) {
      await refused(
        admin.put(`/api/endpoints/${id}/shadow-policy`).send({ from_version: 1 }),
        404,
        'ENDPOINT_NOT_FOUND',
      );
      await refused(admin.delete(`/api/endpoints/${id}/shadow-policy`), 404, 'ENDPOINT_NOT_FOUND');
    }
    await nulRefused(admin.put(`/api/endpoints/${nul}/shadow-policy`).send({ from_version: 1 }));
    await nulRefused(admin.delete(`/api/endpoints/${nul}/shadow-policy`));
    await nulRefused(publish().send({ from_version: 1, message: 'a\u0000b' }));
    for (const body of [
      {},
      { from_version: '1' },
      { from_version: 0 },
      { from_version: 1.5 },
      { from_version: 1, traffic_policy: POLICY },
      { traffic_policy: 5 },
      { traffic_policy: POLICY, message: 'm'.repeat(5_000) },
      { traffic_policy: POLICY, message: 5 },
      { traffic_policy: POLICY, extra: 1 },
      [],
    ])
      await refused(publish().send(body), 400, 'VALIDATION_FAILED');
    for (const body of ['null', '"text"', '7']) await refused(raw(publish(), body), 400, 'MALFORMED_JSON');
    await refused(raw(publish(), '{'), 400, 'MALFORMED_JSON');
    for (const from_version of [2 ** 31, Number.MAX_SAFE_INTEGER])
      await refused(publish().send({ from_version }), 400, 'VALIDATION_FAILED');
    await refused(publish().send({ from_version: 99 }), 404, 'POLICY_VERSION_NOT_FOUND');
    for (const text of ['on_http_request: 5', '['.repeat(20_000), 'on_http_request: [{ actions: [{ type: nope }] }]'])
      await refused(publish().send({ traffic_policy: text }), 400, 'POLICY_INVALID');
    await refused(admin.delete(`/api/endpoints/${endpointId}/shadow-policy`), 404, 'SHADOW_POLICY_NOT_FOUND');
  });

  it('POST /endpoints/{id}/shadow-policy/promote', async () => {
    const promote = () => admin.post(`/api/endpoints/${endpointId}/shadow-policy/promote`);
    for (const id of badIds)
      await refused(
        admin.post(`/api/endpoints/${id}/shadow-policy/promote`).send({ sha256: 'f'.repeat(64) }),
        404,
        'ENDPOINT_NOT_FOUND',
      );
    await nulRefused(admin.post(`/api/endpoints/${nul}/shadow-policy/promote`).send({ sha256: 'f'.repeat(64) }));
    for (const body of [
      {},
      { sha256: 'short' },
      { sha256: 123 },
      { sha256: 'f'.repeat(65) },
      { sha256: 'f'.repeat(64), allow_failing_tests: 'yes' },
      { sha256: 'f'.repeat(64), message: 'm'.repeat(5_000) },
      { sha256: 'f'.repeat(64), extra: true },
      [],
    ])
      await refused(promote().send(body), 400, 'VALIDATION_FAILED');
    await refused(raw(promote(), 'null'), 400, 'MALFORMED_JSON');
    await refused(promote().send({ sha256: 'f'.repeat(64) }), 404, 'SHADOW_POLICY_NOT_FOUND');
    await admin.put(`/api/endpoints/${endpointId}/shadow-policy`).send({ from_version: 1 }).expect(200);
    await refused(promote().send({ sha256: 'f'.repeat(64) }), 409, 'SHADOW_POLICY_CHANGED');
    await admin.delete(`/api/endpoints/${endpointId}/shadow-policy`).expect(200);
  });

  it('GET /endpoints/{id}/policy/rule-stats', async () => {
    for (const id of badIds)
      await refused(admin.get(`/api/endpoints/${id}/policy/rule-stats`), 404, 'ENDPOINT_NOT_FOUND');
    await nulRefused(admin.get(`/api/endpoints/${nul}/policy/rule-stats`));
    for (const query of [
      'version=abc',
      'version=-1',
      'version=0',
      'version=1.5',
      'version=1e400',
      'version=99999999999999999999999',
      'version=1&version=2',
      'version[]=1',
      'version=',
      `version=${2 ** 31}`,
    ])
      await refused(admin.get(`/api/endpoints/${endpointId}/policy/rule-stats?${query}`), 400, 'VALIDATION_FAILED');
    await refused(
      admin.get(`/api/endpoints/${endpointId}/policy/rule-stats?version=99`),
      404,
      'POLICY_VERSION_NOT_FOUND',
    );
  });
});
