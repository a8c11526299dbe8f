import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf } from './http';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

/**
 * GET /api/ai-usage with bad query input (issue 16 review): whatever the query string holds, the answer is 200 or a
 * 4xx with a stable error code, never a 500. Each case is what a hand-edited URL, a script or a fuzzer sends.
 */
describe('GET /api/ai-usage with bad query input', () => {
  let testApp: TestApp;
  let viewer: TestAgent;

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    const admin = await setupAdmin(testApp);
    viewer = await loginAs(testApp, admin, 'viewer');
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const refused = [
    'days=abc',
    'days=1.5',
    'days=0',
    'days=-3',
    'days=91',
    'days=1e9',
    'days=',
    'days=Infinity',
    'days=NaN',
    'days[]=1&days[]=2',
    'days=1&days=2',
    'days[a]=1',
    `days=${'9'.repeat(400)}`,
    'endpoint_id=',
    `endpoint_id=${'e'.repeat(256)}`,
    'endpoint_id[]=a&endpoint_id[]=b',
    'endpoint_id=a&endpoint_id=b',
    'endpoint_id[x]=1',
    'endpoint_id=ep%00x',
    'endpoint_id=%00',
    'endpoint_id=a%0Ab',
    'endpoint_id=%7F',
    'limit=5',
    'days=7&unknown=1',
  ];

  it.each(refused)('?%s is 400 VALIDATION_FAILED', async (query) => {
    const response = await viewer.get(`/api/ai-usage?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(errorOf(response).error_code).toBe('VALIDATION_FAILED');
  });

  // Odd but well-formed: answered normally (an empty usage list here), never an error.
  const accepted = [
    '',
    'days=1',
    'days=90',
    'days=%207',
    'endpoint_id=ep_none',
    "endpoint_id=x'%20OR%201=1--",
    'endpoint_id=%F0%9F%92%A5',
    'endpoint_id=%FF%FE',
  ];

  it.each(accepted)('?%s is 200', async (query) => {
    const response = await viewer.get(`/api/ai-usage?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({ rows: [] });
  });

  it('is 401 without a session', async () => {
    const response = await testApp.http().get('/api/ai-usage?days=abc');
    expect(response.status).toBe(401);
  });
});
