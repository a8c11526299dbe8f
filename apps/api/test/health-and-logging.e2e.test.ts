import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventListResponseSchema } from '../src/audit-events/audit-events.dto';
import { type CreateApiKeyBody, CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { LOGIN_ATTEMPTS_PER_WINDOW } from '../src/auth/login-rate-limiter';
import { PUBLISH_AFTER_COMMIT_WAIT_MS } from '../src/config-publisher/config-publisher.service';
import { type CreateEndpointBody, EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { HealthResponseSchema } from '../src/health/health.dto';
import { bodyOf, errorOf } from './http';
import { DENY_ALL_POLICY } from './policies';
import { ADMIN, createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

describe('health', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('reports Postgres and Redis', async () => {
    const response = await testApp.http().get('/api/health').expect(200);
    expect(bodyOf(response, HealthResponseSchema)).toMatchObject({
      status: 'ok',
      database: { status: 'ok' },
      redis: { status: 'ok' },
    });
  });

  it('with Redis down: health answers 503 naming it, changes still commit promptly, login still limits', async () => {
    await resetState(testApp);
    const admin = await setupAdmin(testApp);
    const key = bodyOf(
      await admin
        .post('/api/api-keys')
        .send({ description: 'redis outage', role: 'editor' } satisfies CreateApiKeyBody)
        .expect(201),
      CreatedApiKeyResponseSchema,
    ).secret;
    const broken = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const response = await broken.http().get('/api/health').expect(503);
      const health = bodyOf(response, HealthResponseSchema);
      expect(health).toMatchObject({ status: 'error', database: { status: 'ok' }, redis: { status: 'error' } });
      expect(health.redis.error).toBeTruthy();

      const started = Date.now();
      const created = await broken
        .http()
        .post('/api/endpoints')
        .set('authorization', `Bearer ${key}`)
        .send({ url: 'https://no-redis.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(201);
      expect(Date.now() - started).toBeLessThan(PUBLISH_AFTER_COMMIT_WAIT_MS + 1_500);
      const pending = await testApp.db.query(
        'SELECT 1 FROM config_changes WHERE published_at IS NULL AND entity_id = $1',
        [bodyOf(created, EndpointResponseSchema).id],
      );
      expect(pending.rowCount).toBe(1);

      for (let attempt = 0; attempt < LOGIN_ATTEMPTS_PER_WINDOW; attempt += 1) {
        await broken
          .http()
          .post('/api/auth/login')
          .send({ email: ADMIN.email, password: 'wrong-password' })
          .expect(401);
      }
      await broken.http().post('/api/auth/login').send({ email: ADMIN.email, password: 'wrong-password' }).expect(429);
    } finally {
      await broken.close();
    }
  });
});

describe('request ids', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('echoes a sane incoming X-Request-Id and generates one otherwise', async () => {
    const given = await testApp.http().get('/api/endpoints').set('x-request-id', 'trace-abc.123').expect(401);
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    expect(errorOf(given).request_id).toBe('trace-abc.123');
    const replaced = await testApp.http().get('/api/endpoints').set('x-request-id', 'bad id with spaces').expect(401);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('audit events', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('filters by actor and kind, pages newest first, and records the request id', async () => {
    const admin = await setupAdmin(testApp);
    const editor = await loginAs(testApp, admin, 'editor');
    for (let index = 0; index < 3; index += 1) {
      await editor
        .post('/api/endpoints')
        .set('x-request-id', `create-${index}`)
        .send({ url: `https://a${index}.example.com`, traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(201);
    }
    const me = await editor.get('/api/auth/me').expect(200);
    const editorEmail = (me.body as { name: string }).name;

    const page = bodyOf(
      await admin
        .get(`/api/audit-events?actor=${encodeURIComponent(editorEmail)}&kind=endpoint.created&limit=2`)
        .expect(200),
      AuditEventListResponseSchema,
    );
    expect(page.audit_events.map((event) => event.request_id)).toEqual(['create-2', 'create-1']);
    expect(page.audit_events.every((event) => event.actor.name === editorEmail)).toBe(true);
    expect(page.next_page_uri).toMatch(/before_id=ae_/);
    const rest = bodyOf(await admin.get(page.next_page_uri ?? '').expect(200), AuditEventListResponseSchema);
    expect(rest.audit_events.map((event) => event.request_id)).toEqual(['create-0']);
    expect(rest.next_page_uri).toBeNull();

    const future = bodyOf(
      await admin.get('/api/audit-events?from=2999-01-01T00:00:00Z').expect(200),
      AuditEventListResponseSchema,
    );
    expect(future.audit_events).toEqual([]);
    await admin.get('/api/audit-events?from=yesterday').expect(400);
  });
});
