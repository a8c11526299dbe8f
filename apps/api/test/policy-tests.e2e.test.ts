import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyTestCase } from '@gatehouse/contracts';
import {
  type CreateEndpointBody,
  type CreatePolicyVersionBody,
  PolicyVersionResponseSchema,
  type UpdateEndpointBody,
} from '../src/endpoints/endpoints.dto';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { bodyOf, errorOf } from './http';

/** Policy test cases stored with policy versions (issue 17), on real Postgres through the HTTP API. */

const ADMIN_BLOCKED = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - name: office only
    expressions: ["req.url.path == '/reports' && !('office' in conn.client_ip.categories)"]
    actions:
      - type: deny
        config: { status_code: 401 }
  - actions:
      - type: custom-response
        config: { status_code: 200, body: "hello" }
`;

/** The same policy with the admin rule gone: the regression the tests exist to catch. */
const ADMIN_OPEN = `on_http_request:
  - actions:
      - type: custom-response
        config: { status_code: 200, body: "hello" }
`;

const tests: PolicyTestCase[] = [
  {
    name: 'admin is blocked',
    request: { path: '/admin/users' },
    expect: { status: 403, decision: { rule: 'block admin', action: 'deny' } },
  },
  { name: 'home says hello', request: { method: 'GET', path: '/' }, expect: { status: 200, body_contains: 'hello' } },
];

describe('policy test cases', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });

  async function createWithTests(): Promise<string> {
    const response = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://shop.example.com',
        traffic_policy: ADMIN_BLOCKED,
        policy_tests: tests,
      } satisfies CreateEndpointBody)
      .expect(201);
    return (response.body as { id: string }).id;
  }

  it('stores the cases and their result on the version', async () => {
    const id = await createWithTests();
    const version = bodyOf(
      await editor.get(`/api/endpoints/${id}/policy-versions/1`).expect(200),
      PolicyVersionResponseSchema,
    );
    expect(version.tests).toEqual(tests);
    expect(version.test_result).toMatchObject({ passed: 2, failed: 0 });
    expect(version.test_result!.results[0]).toMatchObject({
      name: 'admin is blocked',
      passed: true,
      actual: {
        status: 403,
        decision: { rule_index: 0, rule_name: 'block admin', action: 'deny' },
        forwarded_to: null,
      },
    });
  });

  it('refuses a save whose tests fail with 422 POLICY_TESTS_FAILED and the report, and writes nothing', async () => {
    const id = await createWithTests();
    const refused = await editor
      .post(`/api/endpoints/${id}/policy-versions`)
      .send({ traffic_policy: ADMIN_OPEN } satisfies CreatePolicyVersionBody)
      .expect(422);
    const error = errorOf(refused);
    expect(error.error_code).toBe('POLICY_TESTS_FAILED');
    expect(error.message).toContain('1 of 2 policy tests failed');
    expect(error.message).toContain('FAIL admin is blocked\n     status: expected 403, got 200');
    expect(error.details).toEqual([
      {
        code: 'POLICY_TEST_FAILED',
        path: 'tests/0',
        message:
          'admin is blocked: status: expected 403, got 200; decision: expected deny by rule "block admin", got custom-response by rule 0 in on_http_request',
      },
    ]);
    const versions = await editor.get(`/api/endpoints/${id}/policy-versions`).expect(200);
    expect((versions.body as { versions: unknown[] }).versions).toHaveLength(1);

    // The PATCH route runs them too.
    const patched = await editor
      .patch(`/api/endpoints/${id}`)
      .send({ traffic_policy: ADMIN_OPEN } satisfies UpdateEndpointBody)
      .expect(422);
    expect(errorOf(patched).error_code).toBe('POLICY_TESTS_FAILED');
  });

  it('saves with allow_failing_tests and records the failing result', async () => {
    const id = await createWithTests();
    const saved = bodyOf(
      await editor
        .post(`/api/endpoints/${id}/policy-versions`)
        .send({ traffic_policy: ADMIN_OPEN, allow_failing_tests: true } satisfies CreatePolicyVersionBody)
        .expect(201),
      PolicyVersionResponseSchema,
    );
    expect(saved).toMatchObject({ version: 2, active: true });
    expect(saved.test_result).toMatchObject({ passed: 1, failed: 1 });
    expect(saved.test_result!.results[0]!.mismatches[0]).toEqual({ field: 'status', expected: '403', actual: '200' });
    const stored = bodyOf(
      await editor.get(`/api/endpoints/${id}/policy-versions/2`).expect(200),
      PolicyVersionResponseSchema,
    );
    expect(stored.test_result).toEqual(saved.test_result);
  });

  it('carries the cases over to a version saved without tests, and [] removes them', async () => {
    const id = await createWithTests();
    const next = bodyOf(
      await editor
        .post(`/api/endpoints/${id}/policy-versions`)
        .send({
          traffic_policy: `${ADMIN_BLOCKED}# same rules\n`,
          message: 'comment',
        } satisfies CreatePolicyVersionBody)
        .expect(201),
      PolicyVersionResponseSchema,
    );
    expect(next.tests).toEqual(tests);
    expect(next.test_result).toMatchObject({ passed: 2, failed: 0 });

    // Tests alone (PATCH without traffic_policy) append a version of the active text with the new cases.
    const onlyTests = await editor
      .patch(`/api/endpoints/${id}`)
      .send({ policy_tests: [tests[1]!] } satisfies UpdateEndpointBody)
      .expect(200);
    expect(onlyTests.body).toMatchObject({ policy_version: 3, traffic_policy: `${ADMIN_BLOCKED}# same rules\n` });
    const third = bodyOf(
      await editor.get(`/api/endpoints/${id}/policy-versions/3`).expect(200),
      PolicyVersionResponseSchema,
    );
    expect(third.tests).toEqual([tests[1]]);

    const cleared = bodyOf(
      await editor
        .post(`/api/endpoints/${id}/policy-versions`)
        .send({ traffic_policy: ADMIN_OPEN, tests: [] } satisfies CreatePolicyVersionBody)
        .expect(201),
      PolicyVersionResponseSchema,
    );
    expect(cleared).toMatchObject({ version: 4, tests: [], test_result: null });
  });

  it("runs today's cases against a restored version", async () => {
    const id = await createWithTests();
    await editor
      .post(`/api/endpoints/${id}/policy-versions`)
      .send({ traffic_policy: ADMIN_OPEN, tests: [] } satisfies CreatePolicyVersionBody)
      .expect(201);
    // Version 3 brings the admin rule back with its cases; restoring the open version 2 would drop the rule again.
    await editor
      .post(`/api/endpoints/${id}/policy-versions`)
      .send({ traffic_policy: ADMIN_BLOCKED, tests } satisfies CreatePolicyVersionBody)
      .expect(201);
    const refused = await editor.post(`/api/endpoints/${id}/policy-versions/2/restore`).send({}).expect(422);
    expect(errorOf(refused).error_code).toBe('POLICY_TESTS_FAILED');
    const restored = bodyOf(
      await editor
        .post(`/api/endpoints/${id}/policy-versions/2/restore`)
        .send({ allow_failing_tests: true })
        .expect(201),
      PolicyVersionResponseSchema,
    );
    expect(restored).toMatchObject({ version: 4, restored_from: 2, tests });
    expect(restored.test_result).toMatchObject({ failed: 1 });
  });

  it("uses the install's IP categories unless a case states the client's", async () => {
    await editor
      .post('/api/ip-categories')
      .send({ name: 'office', cidrs: ['198.51.100.0/24'] })
      .expect(201);
    const response = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://reports.example.com',
        traffic_policy: ADMIN_BLOCKED,
        policy_tests: [
          { name: 'office address', request: { path: '/reports', client_ip: '198.51.100.9' }, expect: { status: 200 } },
          { name: 'elsewhere', request: { path: '/reports' }, expect: { status: 401 } },
          {
            name: 'stated categories',
            request: { path: '/reports', client_ip_categories: ['office'] },
            expect: { status: 200 },
          },
        ],
      } satisfies CreateEndpointBody)
      .expect(201);
    const version = bodyOf(
      await editor.get(`/api/endpoints/${(response.body as { id: string }).id}/policy-versions/1`).expect(200),
      PolicyVersionResponseSchema,
    );
    expect(version.test_result).toMatchObject({ passed: 3, failed: 0 });
  });

  it('refuses cases for an endpoint created without a policy instead of dropping them', async () => {
    const response = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.example.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        policy_tests: [tests[1]!],
      } satisfies CreateEndpointBody)
      .expect(400);
    expect(errorOf(response)).toMatchObject({
      error_code: 'VALIDATION_FAILED',
      details: [{ path: 'policy_tests', message: 'give traffic_policy too, or leave policy_tests out' }],
    });
  });

  it('refuses malformed cases with 400 VALIDATION_FAILED naming the field', async () => {
    const id = await createWithTests();
    const response = await editor
      .post(`/api/endpoints/${id}/policy-versions`)
      .send({
        traffic_policy: ADMIN_BLOCKED,
        tests: [
          { name: 'x', request: { path: 'no-slash' }, expect: { status: 200 } },
          { name: 'x', request: {}, expect: { rate_limited_after: 100000 } },
        ],
      })
      .expect(400);
    const error = errorOf(response);
    expect(error.error_code).toBe('VALIDATION_FAILED');
    expect(error.details.map((detail) => detail.path)).toEqual(
      expect.arrayContaining(['tests.0.request.path', 'tests.1.expect.rate_limited_after']),
    );
  });
});
