// Issue 12, item 11: browser hardening. Before the fix no response carried a CSP, nosniff or a Referrer-Policy, the
// dashboard could be framed, and a page on any other origin could make a logged-in browser change things (create
// endpoints, restore versions, log out) with its session cookie.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { bodyOf, errorOf } from './http';
import { DENY_ALL_POLICY } from './policies';
import { ADMIN, createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

/** The host the tests address the API by, so the server's own origin is known. */
const HOST = 'gatehouse.test:4000';
const OWN_ORIGIN = `http://${HOST}`;
const cloudEndpoint = (name: string) => ({ url: `https://${name}.example.com`, traffic_policy: DENY_ALL_POLICY });

describe('browser hardening', () => {
  let testApp: TestApp;
  let directory: string;
  let admin: TestAgent;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-dashboard-'));
    await writeFile(join(directory, 'index.html'), '<!doctype html><title>Gatehouse</title><div id="root"></div>');
    // The test client (loopback) plays a trusted reverse proxy, so X-Forwarded-Proto/-Host are believed.
    testApp = await createTestApp({
      GATEHOUSE_DASHBOARD_DIR: directory,
      GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
    });
  });
  afterAll(async () => {
    await testApp.close();
    await rm(directory, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await resetState(testApp);
    admin = await setupAdmin(testApp);
  });

  async function endpointCount(): Promise<number> {
    return Number((await testApp.db.query<{ n: string }>('SELECT count(*) AS n FROM endpoints')).rows[0]?.n);
  }

  describe('security headers', () => {
    it('sends CSP with frame-ancestors none, nosniff and a Referrer-Policy on the dashboard and the API', async () => {
      for (const path of ['/', '/endpoints', '/api/health', '/api/no-such-route']) {
        const response = await testApp.http().get(path);
        const csp = String(response.headers['content-security-policy']);
        expect(csp, path).toContain("default-src 'self'");
        expect(csp, path).toMatch(/script-src 'self'(;|$)/);
        expect(csp, path).toContain("frame-ancestors 'none'");
        expect(csp, path).toContain("object-src 'none'");
        expect(csp, path).not.toContain('unsafe-eval');
        expect(response.headers['x-content-type-options'], path).toBe('nosniff');
        expect(response.headers['referrer-policy'], path).toBe('no-referrer');
        expect(response.headers['x-frame-options'], path).toBe('DENY');
      }
    });

    it('sends HSTS only over TLS (here: https reported by a trusted proxy), never on plain HTTP', async () => {
      const plain = await testApp.http().get('/api/health');
      expect(plain.headers['strict-transport-security']).toBeUndefined();
      for (const path of ['/', '/api/health']) {
        const tls = await testApp.http().get(path).set('x-forwarded-proto', 'https');
        expect(tls.headers['strict-transport-security'], path).toMatch(/^max-age=\d{8,}/);
      }
    });
  });

  describe('cookie-authenticated state changes must come from the own origin', () => {
    it('refuses a cross-origin POST with the session cookie (Origin), and creates nothing', async () => {
      const refused = await admin
        .post('/api/endpoints')
        .set('host', HOST)
        .set('origin', 'https://evil.example')
        .send(cloudEndpoint('csrf'))
        .expect(403);
      expect(errorOf(refused).error_code).toBe('ORIGIN_NOT_ALLOWED');
      expect(await endpointCount()).toBe(0);
      // `Origin: null` (sandboxed frames, some redirects) is not the own origin either.
      await admin
        .post('/api/endpoints')
        .set('host', HOST)
        .set('origin', 'null')
        .send(cloudEndpoint('csrf'))
        .expect(403);
      expect(await endpointCount()).toBe(0);
    });

    it('refuses cross-site and same-site requests by Sec-Fetch-Site, whatever Origin says', async () => {
      for (const site of ['cross-site', 'same-site']) {
        const refused = await admin
          .post('/api/endpoints')
          .set('host', HOST)
          .set('origin', OWN_ORIGIN)
          .set('sec-fetch-site', site)
          .send(cloudEndpoint('csrf'))
          .expect(403);
        expect(errorOf(refused).error_code, site).toBe('ORIGIN_NOT_ALLOWED');
      }
      expect(await endpointCount()).toBe(0);
    });

    it('refuses body-less POSTs too: restore and logout', async () => {
      const created = await admin.post('/api/endpoints').send(cloudEndpoint('restore')).expect(201);
      const id = (created.body as { id: string }).id;
      await admin
        .post(`/api/endpoints/${id}/policy-versions`)
        .send({ traffic_policy: DENY_ALL_POLICY.replace('403', '404') })
        .expect(201);

      const restore = await admin
        .post(`/api/endpoints/${id}/policy-versions/1/restore`)
        .set('sec-fetch-site', 'cross-site')
        .expect(403);
      expect(errorOf(restore).error_code).toBe('ORIGIN_NOT_ALLOWED');
      const versions = await testApp.db.query('SELECT version FROM policy_versions WHERE endpoint_id = $1', [id]);
      expect(versions.rowCount).toBe(2);

      const logout = await admin
        .post('/api/auth/logout')
        .set('host', HOST)
        .set('origin', 'https://evil.example')
        .expect(403);
      expect(errorOf(logout).error_code).toBe('ORIGIN_NOT_ALLOWED');
      await admin.get('/api/auth/me').expect(200);
      // A cross-origin page may still read nothing: GETs are not state changes and pass (CORS keeps the answer away).
      await admin.get('/api/endpoints').set('sec-fetch-site', 'cross-site').expect(200);
    });

    it('accepts the own origin (Origin or Sec-Fetch-Site) and clients that send neither (curl, the CLI)', async () => {
      await admin
        .post('/api/endpoints')
        .set('host', HOST)
        .set('origin', OWN_ORIGIN)
        .send(cloudEndpoint('a'))
        .expect(201);
      await admin
        .post('/api/endpoints')
        .set('host', HOST)
        .set('origin', 'https://evil.example') // only believed without Sec-Fetch-Site
        .set('sec-fetch-site', 'same-origin')
        .send(cloudEndpoint('b'))
        .expect(201);
      await admin.post('/api/endpoints').send(cloudEndpoint('c')).expect(201);
      // Behind a trusted proxy, the own origin is the one the proxy reports (X-Forwarded-Proto/-Host).
      const proxied = (origin: string) =>
        admin
          .post('/api/endpoints')
          .set('host', 'internal:4000')
          .set('x-forwarded-proto', 'https')
          .set('x-forwarded-host', 'gatehouse.example.com')
          .set('origin', origin);
      await proxied('https://gatehouse.example.com').send(cloudEndpoint('d')).expect(201);
      await proxied('http://internal:4000').send(cloudEndpoint('e')).expect(403);
      expect(await endpointCount()).toBe(4);
      await admin.post('/api/auth/logout').set('sec-fetch-site', 'same-origin').expect(204);
    });

    it('does not apply to API keys: a bearer token is never sent by a browser on its own', async () => {
      const key = bodyOf(
        await admin.post('/api/api-keys').send({ description: 'csrf', role: 'editor' }).expect(201),
        CreatedApiKeyResponseSchema,
      ).secret;
      await testApp
        .http()
        .post('/api/endpoints')
        .set('authorization', `Bearer ${key}`)
        .set('host', HOST)
        .set('origin', 'https://ci.example')
        .set('sec-fetch-site', 'cross-site')
        .send(cloudEndpoint('key'))
        .expect(201);
    });

    it('refuses a cross-origin login (login CSRF) and setup', async () => {
      const login = await testApp
        .http()
        .post('/api/auth/login')
        .set('sec-fetch-site', 'cross-site')
        .send(ADMIN)
        .expect(403);
      expect(errorOf(login).error_code).toBe('ORIGIN_NOT_ALLOWED');
      expect(login.headers['set-cookie']).toBeUndefined();
      await testApp.http().post('/api/auth/login').set('sec-fetch-site', 'same-origin').send(ADMIN).expect(200);
      const setup = await testApp.http().post('/api/auth/setup').set('origin', 'https://evil.example').send(ADMIN);
      expect(errorOf(setup).error_code).toBe('ORIGIN_NOT_ALLOWED');
    });
  });
});
