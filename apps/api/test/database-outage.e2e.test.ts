import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, FreezableTcpProxy } from './support/tcp-proxy';
import { createTestApp, type TestApp } from './test-app';
import { TEST_DATABASE_URL, TEST_DATAPLANE_TOKEN } from './test-env';

/**
 * Postgres gone: the API answers 503 SERVICE_UNAVAILABLE with Retry-After within its configured timeouts, never a 500
 * and never a hang. "Unreachable" is a closed port; "frozen" is a TCP proxy in front of the test database that stops
 * forwarding (a hung server): the shared Postgres itself is never touched.
 */
const timeouts = { DATABASE_CONNECT_TIMEOUT_MS: '500', DATABASE_STATEMENT_TIMEOUT_MS: '1000' };
/** Generous next to the 0.5–2 s the timeouts allow: the point is "bounded", not a benchmark. */
const BOUND_MS = 8_000;
const bearer = { authorization: `Bearer ${TEST_DATAPLANE_TOKEN}` };

function databaseUrlThrough(port: number): string {
  const url = new URL(TEST_DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function expectUnavailable(testApp: TestApp, path: string, method: 'get' | 'post' = 'get'): Promise<number> {
  const started = Date.now();
  const call = testApp.http()[method](path).set(bearer);
  const response = await (method === 'post'
    ? call.send({ id: 'dp-outage', hostname: 'h', version: '1', applied_revision: 0 })
    : call);
  const elapsed = Date.now() - started;
  expect(response.status, JSON.stringify(response.body)).toBe(503);
  expect(response.body).toMatchObject({ error_code: 'SERVICE_UNAVAILABLE' });
  expect(response.headers['retry-after']).toBe('5');
  expect(elapsed).toBeLessThan(BOUND_MS);
  return elapsed;
}

describe('API with Postgres unreachable', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ DATABASE_URL: databaseUrlThrough(await closedPort()), ...timeouts });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After on routes that need the database', async () => {
    await expectUnavailable(testApp, '/api/dataplane/config');
    await expectUnavailable(testApp, '/api/dataplane/config/changes?since=0');
    await expectUnavailable(testApp, '/api/dataplane/heartbeat', 'post');
    const login = await testApp
      .http()
      .post('/api/auth/login')
      .send({ email: 'a@example.com', password: 'x'.repeat(12) });
    expect(login.status).toBe(503);
    expect(login.body).toMatchObject({ error_code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('API with Postgres frozen', () => {
  let proxy: FreezableTcpProxy;
  let testApp: TestApp;

  beforeAll(async () => {
    const target = new URL(TEST_DATABASE_URL);
    proxy = new FreezableTcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    testApp = await createTestApp({ DATABASE_URL: databaseUrlThrough(proxy.port), ...timeouts });
  });

  afterEach(() => proxy.thaw());

  afterAll(async () => {
    proxy?.thaw();
    await testApp?.close();
    await proxy?.close();
  });

  it('answers 503 within the timeouts, even with more requests than pooled connections, then recovers', async () => {
    // Warm: the pool holds open connections that freeze mid-conversation below.
    await testApp.http().get('/api/dataplane/config').set(bearer).expect(200);
    proxy.freeze();
    await expectUnavailable(testApp, '/api/dataplane/config');
    // Twelve at once against a pool of ten: none queues forever.
    const elapsed = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        expectUnavailable(
          testApp,
          index % 2 === 0 ? '/api/dataplane/config' : '/api/dataplane/heartbeat',
          index % 2 === 0 ? 'get' : 'post',
        ),
      ),
    );
    expect(Math.max(...elapsed)).toBeLessThan(BOUND_MS);
    proxy.thaw();
    // Back: the pool replaces the connections that timed out.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await testApp.http().get('/api/dataplane/config').set(bearer)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe(200);
  });
});
