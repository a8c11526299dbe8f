import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreateApiKeyBody } from '../src/api-keys/api-keys.dto';
import type { LoginBody, SetupBody } from '../src/auth/auth.dto';
import { LOGIN_ATTEMPTS_PER_WINDOW } from '../src/auth/login-rate-limiter';
import { ApiKeyListResponseSchema, CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { SessionResponseSchema } from '../src/auth/auth.dto';
import { ADMIN, createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { bodyOf, errorOf } from './http';

describe('auth', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp);
  });

  describe('first-run setup', () => {
    it('creates the first admin once, logs them in with an HttpOnly SameSite=Lax cookie, then closes', async () => {
      const client = testApp.http();
      await client.get('/api/auth/setup').expect(200, { setup_required: true });
      const response = await client
        .post('/api/auth/setup')
        .send({ email: 'First@Example.com', password: 'a-long-password-1' } satisfies SetupBody)
        .expect(201);
      expect(bodyOf(response, SessionResponseSchema).user).toMatchObject({ email: 'first@example.com', role: 'admin' });
      const cookie = String(response.headers['set-cookie']);
      expect(cookie).toMatch(/gatehouse_session=/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).not.toMatch(/Secure/);
      await client.get('/api/auth/me').expect(200);
      await client.get('/api/auth/setup').expect(200, { setup_required: false });

      const second = await testApp.http().post('/api/auth/setup').send(ADMIN).expect(409);
      expect(errorOf(second).error_code).toBe('SETUP_ALREADY_DONE');
    });

    it('lets exactly one of many concurrent setups win', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          testApp
            .http()
            .post('/api/auth/setup')
            .send({ email: `admin${index}@example.com`, password: 'a-long-password-1' } satisfies SetupBody),
        ),
      );
      expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409, 409, 409]);
    });

    it('rejects a short password with the field in details', async () => {
      const response = await testApp
        .http()
        .post('/api/auth/setup')
        .send({ email: 'a@example.com', password: 'short' } satisfies SetupBody)
        .expect(400);
      expect(response.body).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'password' }] });
    });

    it('stores only a hash of the session token', async () => {
      const response = await testApp.http().post('/api/auth/setup').send(ADMIN).expect(201);
      const token = /gatehouse_session=([^;]+)/.exec(String(response.headers['set-cookie']))?.[1];
      expect(token).toBeTruthy();
      const rows = await testApp.db.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]?.token_hash).not.toContain(String(token));
      expect(rows.rows[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('login', () => {
    beforeEach(async () => {
      await setupAdmin(testApp);
    });

    it('logs in, answers me, and logs out', async () => {
      const client = testApp.http();
      const login = await client
        .post('/api/auth/login')
        .send({ email: 'ADMIN@example.com', password: ADMIN.password } satisfies LoginBody)
        .expect(200);
      expect(bodyOf(login, SessionResponseSchema).user.email).toBe(ADMIN.email);
      const me = await client.get('/api/auth/me').expect(200);
      expect(me.body).toMatchObject({ type: 'user', role: 'admin', name: ADMIN.email });
      await client.post('/api/auth/logout').expect(204);
      const after = await client.get('/api/auth/me').expect(401);
      expect(errorOf(after).error_code).toBe('UNAUTHENTICATED');
    });

    it('refuses a wrong password and an unknown email with the same error', async () => {
      const wrong = await testApp
        .http()
        .post('/api/auth/login')
        .send({ email: ADMIN.email, password: 'not-the-password' } satisfies LoginBody)
        .expect(401);
      const unknown = await testApp
        .http()
        .post('/api/auth/login')
        .send({ email: 'nobody@example.com', password: 'not-the-password' } satisfies LoginBody)
        .expect(401);
      expect(errorOf(wrong).error_code).toBe('INVALID_CREDENTIALS');
      expect(errorOf(unknown).error_code).toBe('INVALID_CREDENTIALS');
    });

    it('rate-limits attempts per IP and email with 429 and retry-after', async () => {
      const attempt = () =>
        testApp
          .http()
          .post('/api/auth/login')
          .send({ email: ADMIN.email, password: 'guess-guess-guess' } satisfies LoginBody);
      for (let index = 0; index < LOGIN_ATTEMPTS_PER_WINDOW; index += 1) await attempt().expect(401);
      const limited = await attempt().expect(429);
      expect(errorOf(limited).error_code).toBe('LOGIN_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Even the right password is refused while limited.
      await testApp
        .http()
        .post('/api/auth/login')
        .send({ email: ADMIN.email, password: ADMIN.password } satisfies LoginBody)
        .expect(429);
      // Another email from the same IP is not affected.
      await testApp
        .http()
        .post('/api/auth/login')
        .send({ email: 'other@example.com', password: 'guess-guess-guess' } satisfies LoginBody)
        .expect(401);
    });

    it('ignores a forged or expired session cookie', async () => {
      await testApp.http().get('/api/auth/me').set('cookie', 'gatehouse_session=forged').expect(401);
      const client = testApp.http();
      await client.post('/api/auth/login').send({ email: ADMIN.email, password: ADMIN.password }).expect(200);
      await testApp.db.query("UPDATE sessions SET expires_at = now() - interval '1 second'");
      await client.get('/api/auth/me').expect(401);
    });
  });

  describe('API keys', () => {
    it('refuses a key without a description (empty or blank) and shows the owner email on keys', async () => {
      const admin = await setupAdmin(testApp);
      for (const body of [{ role: 'editor' }, { description: '', role: 'editor' }, { description: '   ' }]) {
        const refused = await admin.post('/api/api-keys').send(body).expect(400);
        expect(errorOf(refused).error_code).toBe('VALIDATION_FAILED');
        expect(JSON.stringify(errorOf(refused))).toContain('description');
      }
      const created = bodyOf(
        await admin.post('/api/api-keys').send({ description: '  nightly job  ' }).expect(201),
        CreatedApiKeyResponseSchema,
      );
      expect(created.description).toBe('nightly job');
      expect(created.created_by_email).toMatch(/@/);
    });

    it('shows the secret once, stores its SHA-256, authenticates with it and records last use', async () => {
      const admin = await setupAdmin(testApp);
      const created = await admin
        .post('/api/api-keys')
        .send({ description: 'ci', role: 'editor' } satisfies CreateApiKeyBody)
        .expect(201);
      const secret = bodyOf(created, CreatedApiKeyResponseSchema).secret;
      expect(secret).toMatch(/^gh_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
      expect(secret.startsWith(bodyOf(created, CreatedApiKeyResponseSchema).prefix)).toBe(true);
      expect(bodyOf(created, CreatedApiKeyResponseSchema).last_used_at).toBeNull();

      const stored = await testApp.db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys');
      expect(stored.rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(stored.rows)).not.toContain(secret);

      const me = await testApp.http().get('/api/auth/me').set('authorization', `Bearer ${secret}`).expect(200);
      expect(me.body).toMatchObject({
        type: 'api_key',
        role: 'editor',
        name: bodyOf(created, CreatedApiKeyResponseSchema).prefix,
        user: null,
      });

      const list = await admin.get('/api/api-keys').expect(200);
      expect(bodyOf(list, ApiKeyListResponseSchema).api_keys).toHaveLength(1);
      expect(bodyOf(list, ApiKeyListResponseSchema).api_keys[0]?.last_used_at).not.toBeNull();
      expect(JSON.stringify(list.body)).not.toContain(secret);

      // An editor key cannot manage keys.
      await testApp.http().get('/api/api-keys').set('authorization', `Bearer ${secret}`).expect(403);

      await admin.delete(`/api/api-keys/${bodyOf(created, CreatedApiKeyResponseSchema).id}`).expect(204);
      await testApp.http().get('/api/auth/me').set('authorization', `Bearer ${secret}`).expect(401);
      const missing = await admin
        .delete(`/api/api-keys/${bodyOf(created, CreatedApiKeyResponseSchema).id}`)
        .expect(404);
      expect(errorOf(missing).error_code).toBe('API_KEY_NOT_FOUND');

      const kinds = await testApp.db.query<{ kind: string }>('SELECT kind FROM audit_events ORDER BY id');
      expect(kinds.rows.map((row) => row.kind)).toEqual(['user.setup', 'api_key.created', 'api_key.deleted']);
    });

    it('rejects unknown and malformed bearer tokens', async () => {
      await testApp.http().get('/api/auth/me').set('authorization', 'Bearer gh_00000000_nope').expect(401);
      await testApp.http().get('/api/auth/me').set('authorization', 'Basic abc').expect(401);
    });
  });

  describe('roles', () => {
    it('lets viewers read, editors change endpoints, and only admins manage users and keys', async () => {
      const admin = await setupAdmin(testApp);
      const editor = await loginAs(testApp, admin, 'editor');
      const viewer = await loginAs(testApp, admin, 'viewer');

      await viewer.get('/api/endpoints').expect(200);
      const denied = await viewer
        .post('/api/endpoints')
        .send({ url: 'https://a.example.internal', type: 'internal', upstream_url: 'http://127.0.0.1:1' })
        .expect(403);
      expect(errorOf(denied).error_code).toBe('FORBIDDEN');
      await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.internal', type: 'internal', upstream_url: 'http://127.0.0.1:1' })
        .expect(201);
      await editor.get('/api/users').expect(403);
      await editor.post('/api/api-keys').send({}).expect(403);
      await viewer
        .put('/api/ip-categories/office')
        .send({ cidrs: ['10.0.0.0/8'] })
        .expect(403);
      await admin.get('/api/users').expect(200);
    });
  });

  describe('behind a trusted proxy', () => {
    it('marks the cookie Secure for https and takes the client IP from X-Forwarded-For only from trusted proxies', async () => {
      const proxied = await createTestApp({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/8,::1/128' });
      try {
        const response = await proxied
          .http()
          .post('/api/auth/setup')
          .set('x-forwarded-proto', 'https')
          .set('x-forwarded-for', '203.0.113.9')
          .send(ADMIN)
          .expect(201);
        expect(String(response.headers['set-cookie'])).toMatch(/; Secure/);
        const audit = await proxied.db.query<{ ip: string }>("SELECT ip FROM audit_events WHERE kind = 'user.setup'");
        expect(audit.rows).toEqual([{ ip: '203.0.113.9' }]);
      } finally {
        await proxied.close();
      }
      // Without trusted proxies the headers are ignored.
      await resetState(testApp);
      const direct = await testApp
        .http()
        .post('/api/auth/setup')
        .set('x-forwarded-proto', 'https')
        .set('x-forwarded-for', '203.0.113.9')
        .send(ADMIN)
        .expect(201);
      expect(String(direct.headers['set-cookie'])).not.toMatch(/Secure/);
      const audit = await testApp.db.query<{ ip: string }>("SELECT ip FROM audit_events WHERE kind = 'user.setup'");
      expect(audit.rows[0]?.ip).not.toBe('203.0.113.9');
    });
  });

  describe('bootstrap from the environment', () => {
    it('creates the admin from GATEHOUSE_ADMIN_EMAIL/_PASSWORD when no user exists', async () => {
      const other = await createTestApp({
        GATEHOUSE_ADMIN_EMAIL: 'boot@example.com',
        GATEHOUSE_ADMIN_PASSWORD: 'boot-password-123',
      });
      try {
        await other
          .http()
          .post('/api/auth/login')
          .send({ email: 'boot@example.com', password: 'boot-password-123' } satisfies LoginBody)
          .expect(200);
      } finally {
        await other.close();
      }
    });
  });
});
