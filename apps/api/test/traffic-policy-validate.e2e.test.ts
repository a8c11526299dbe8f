import type { Agent } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_POLICY_LENGTH,
  type ValidatePolicyBody,
  ValidatePolicyResponseSchema,
} from '../src/traffic-policy/traffic-policy.dto';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { BAD_YAML_POLICY, DENY_ALL_POLICY, NON_TERMINATING_POLICY, WALKTHROUGH_POLICY } from './policies';
import { bodyOf, errorOf } from './http';

describe('POST /api/traffic-policy/validate', () => {
  let testApp: TestApp;
  let viewer: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    viewer = await loginAs(testApp, await setupAdmin(testApp), 'viewer');
  });
  afterAll(async () => {
    await testApp.close();
  });

  const validate = (body: unknown) => viewer.post('/api/traffic-policy/validate').send(body as object);

  it('accepts a valid policy (viewers may validate)', async () => {
    const response = await validate({ traffic_policy: DENY_ALL_POLICY } satisfies ValidatePolicyBody).expect(200);
    expect(response.body).toEqual({ valid: true, errors: [], warnings: [] });
  });

  it('reports every issue with code, path, line and column', async () => {
    const response = await validate({
      traffic_policy: NON_TERMINATING_POLICY,
      endpoint_type: 'cloud',
    } satisfies ValidatePolicyBody).expect(200);
    expect(bodyOf(response, ValidatePolicyResponseSchema).valid).toBe(false);
    // The schema parse checks that message, path, line and column are present and typed.
    const [issue] = bodyOf(response, ValidatePolicyResponseSchema).errors;
    expect(issue).toMatchObject({ code: 'POLICY_NOT_TERMINATING', severity: 'error' });
    expect(issue?.line).toBeGreaterThan(0);
    expect(issue?.column).toBeGreaterThan(0);
    const internal = await validate({
      traffic_policy: NON_TERMINATING_POLICY,
      endpoint_type: 'internal',
    } satisfies ValidatePolicyBody).expect(200);
    expect(bodyOf(internal, ValidatePolicyResponseSchema).valid).toBe(true);
  });

  it('warns about forward-internal targets that are not registered', async () => {
    const response = await validate({ traffic_policy: WALKTHROUGH_POLICY } satisfies ValidatePolicyBody).expect(200);
    expect(bodyOf(response, ValidatePolicyResponseSchema).valid).toBe(true);
    expect(
      bodyOf(response, ValidatePolicyResponseSchema).warnings.map((issue: { code: string }) => issue.code),
    ).toContain('POLICY_FORWARD_TARGET_UNKNOWN');
  });

  it('never answers 500, whatever the text', async () => {
    const texts = [
      '',
      ' ',
      BAD_YAML_POLICY,
      'null',
      '[]',
      '42',
      '"just a string"',
      '{"on_http_request": {"not": "a list"}}',
      'on_http_request:\n  - actions:\n      - type: nope\n',
      'on_http_request:\n  - expressions: ["req.method ==="]\n    actions: [{type: deny}]\n',
      'on_http_request:\n  - expressions: ["1 + 1"]\n    actions: [{type: deny}]\n',
      '&a [*a, *a]',
      'a: &a\n  b: *a\n',
      '\u0000\u0001\u0002\uFFFD',
      '{'.repeat(5000),
      '- '.repeat(5000),
      `on_http_request:\n${'  - actions: [{type: deny}]\n'.repeat(300)}`,
      'x'.repeat(MAX_POLICY_LENGTH),
    ];
    for (const traffic_policy of texts) {
      const response = await validate({ traffic_policy } satisfies ValidatePolicyBody);
      expect(response.status, traffic_policy.slice(0, 40)).toBe(200);
      expect(typeof bodyOf(response, ValidatePolicyResponseSchema).valid).toBe('boolean');
    }
  });

  it('answers 400 (not 500) for bodies that are not a policy request', async () => {
    for (const body of [
      {},
      { traffic_policy: 42 },
      { traffic_policy: 'x', endpoint_type: 'edge' },
      { traffic_policy: 'x'.repeat(MAX_POLICY_LENGTH + 1) },
    ]) {
      const response = await validate(body).expect(400);
      expect(errorOf(response).error_code).toBe('VALIDATION_FAILED');
    }
    const malformed = await viewer
      .post('/api/traffic-policy/validate')
      .set('content-type', 'application/json')
      .send('{"traffic_policy": ')
      .expect(400);
    expect(errorOf(malformed).error_code).toBe('MALFORMED_JSON');
    const tooLarge = await viewer
      .post('/api/traffic-policy/validate')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ traffic_policy: 'x'.repeat(2 * 1024 * 1024) }))
      .expect(413);
    expect(errorOf(tooLarge).error_code).toBe('PAYLOAD_TOO_LARGE');
  });
});
