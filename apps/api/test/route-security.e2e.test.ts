import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';
import { errorOf } from './http';

interface RegisteredRoute {
  method: string;
  path: string;
}

/** Every route Express actually serves (Nest registers each handler as an Express route). */
function registeredRoutes(testApp: TestApp): RegisteredRoute[] {
  const express = testApp.app.getHttpAdapter().getInstance() as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  return express.router.stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods)
          .filter((method) => method !== '_all')
          .map((method) => ({ method: method.toUpperCase(), path: layer.route!.path }))
      : [],
  );
}

/** The routes DESIGN.md §5 allows without a session or API key. */
const PUBLIC_ROUTES = new Set([
  'POST /api/auth/login',
  'GET /api/auth/setup',
  'POST /api/auth/setup',
  'GET /api/health',
]);
/** Routes that take the data-plane token instead of a user credential. */
const DATAPLANE_ROUTES = new Set([
  'GET /api/dataplane/config',
  'GET /api/dataplane/config/changes',
  'POST /api/dataplane/heartbeat',
  'POST /api/dataplane/agent-sessions',
  'POST /api/dataplane/agent-sessions/leave',
]);
/** Served by Swagger UI (documentation, not data). */
const isDocumentation = (path: string) => path.startsWith('/api/docs') || path === '/api/openapi.json';

function concretePath(path: string): string {
  return path.replace(/:version/g, '1').replace(/:(\w+)/g, 'x');
}

describe('route security', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    await setupAdmin(testApp);
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('finds the routes (sanity check of the enumeration)', () => {
    const routes = registeredRoutes(testApp).map((route) => `${route.method} ${route.path}`);
    expect(routes).toContain('POST /api/endpoints');
    expect(routes).toContain('POST /api/endpoints/:id/policy-versions/:version/restore');
    expect(routes.length).toBeGreaterThan(30);
  });

  it('refuses every route without credentials except login, setup, health and the docs', async () => {
    const checked: string[] = [];
    for (const route of registeredRoutes(testApp)) {
      const key = `${route.method} ${route.path}`;
      if (PUBLIC_ROUTES.has(key) || isDocumentation(route.path)) continue;
      const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      const response = await testApp.http()[method](concretePath(route.path)).send({});
      expect(response.status, key).toBe(401);
      expect(errorOf(response).error_code, key).toBe('UNAUTHENTICATED');
      checked.push(key);
    }
    expect(checked.length).toBeGreaterThan(25);
  });

  it('refuses the data-plane routes with a forged token and user routes with the data-plane token', async () => {
    for (const route of registeredRoutes(testApp)) {
      const key = `${route.method} ${route.path}`;
      if (PUBLIC_ROUTES.has(key) || isDocumentation(route.path)) continue;
      const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      const token = DATAPLANE_ROUTES.has(key) ? 'forged-token-forged-token' : testApp.env.GATEHOUSE_DATAPLANE_TOKEN;
      const client = testApp.http();
      const response = await client[method](concretePath(route.path)).set('authorization', `Bearer ${token}`).send({});
      expect(response.status, key).toBe(401);
    }
  });

  it('keeps the public routes public', async () => {
    await testApp.http().get('/api/health').expect(200);
    await testApp.http().get('/api/auth/setup').expect(200);
    await testApp.http().get('/api/docs/').expect(200);
    await testApp.http().get('/api/openapi.json').expect(200);
  });

  it('answers unknown routes with ROUTE_NOT_FOUND in the standard error shape', async () => {
    const response = await testApp.http().get('/api/nope').expect(404);
    expect(response.body).toMatchObject({ error_code: 'ROUTE_NOT_FOUND', details: [] });
    expect(errorOf(response).request_id).toBe(response.headers['x-request-id']);
  });
});
