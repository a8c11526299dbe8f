import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent as TestAgent, Response } from 'supertest';
import { DENY_ALL_POLICY } from './policies';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

/**
 * A sweep of every documented route with malformed input, as an authenticated admin: wrong path parameters, bodies
 * that are not JSON or have every field of the wrong type, and nonsense query values. Whatever the route, the answer
 * must be a 4xx (or a success) in the standard error shape — never a 500, which would mean an unvalidated value reached
 * a repository or the database. The routes come from the OpenAPI document, so a new route is swept without editing
 * this file; a second check makes sure the document lists every route Express serves.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaObject>;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
}
interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: SchemaObject }> };
}
interface OpenApiDocument {
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components?: { schemas?: Record<string, SchemaObject> };
}

/** Routes whose success is a long-lived stream; only their refusals are swept. */
const STREAMING = new Set(['GET /api/request-logs/stream']);
/** Routes that would end the sweep's own session or lock the account; their bad input is covered by their own tests. */
const SKIPPED = new Set(['POST /api/auth/logout', 'POST /api/auth/login']);

const BAD_PATH_VALUES = [
  'x',
  '%00',
  'a%00b',
  '0',
  '-1',
  '99999999999999999999999',
  'a'.repeat(600),
  '%E0%A4%A',
  '..%2F..%2Fetc',
  ' ',
];
const BAD_QUERY_VALUES = ['abc', '%00', '-1', '1e999', '', '%FF', 'a'.repeat(5000), '2026-13-45T99:99:99Z'];
const RAW_BODIES = ['{', '[]', 'null', '"text"', '123', '{"a":'.repeat(200)];

function resolve(document: OpenApiDocument, schema: SchemaObject | undefined): SchemaObject | undefined {
  if (schema?.$ref) return resolve(document, document.components?.schemas?.[schema.$ref.split('/').pop()!]);
  return schema;
}

/** The top-level properties of a body schema, following refs and unions. */
function propertiesOf(document: OpenApiDocument, schema: SchemaObject | undefined): Record<string, SchemaObject> {
  const resolved = resolve(document, schema);
  if (!resolved) return {};
  const parts = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])];
  const merged: Record<string, SchemaObject> = { ...resolved.properties };
  for (const part of parts) Object.assign(merged, propertiesOf(document, part));
  return merged;
}

/** A value of a type the property does not accept (several, so each validator branch is tried). */
function wrongValues(document: OpenApiDocument, property: SchemaObject): unknown[] {
  const resolved = resolve(document, property);
  const types = [resolved?.type ?? 'object'].flat();
  // A NUL byte reaches Postgres, which refuses it in text: it must be refused before that, as bad input.
  if (types.includes('string')) return [12345, ['x'], { nested: true }, 'x'.repeat(200_000), 'a\u0000b'];
  if (types.includes('integer') || types.includes('number')) return ['12', -1, 1e308, 1.5];
  if (types.includes('boolean')) return ['true', 1];
  if (types.includes('array')) return [{}, 'x', [null, 1, {}]];
  return ['x', [], 7];
}

function routeKey(method: Method, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

function expectHandled(response: Response, what: string): void {
  expect(response.status, `${what} → ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`).toBeLessThan(
    500,
  );
  if (response.status >= 400) {
    expect((response.body as { error_code?: unknown }).error_code, what).toMatch(/^[A-Z][A-Z0-9_]+$/);
  }
}

describe('bad input on every route', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let document: OpenApiDocument;
  /** Real identifiers of seeded objects, so routes are also swept past their "not found" check. */
  const realParams: Record<string, string> = { version: '1' };

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    document = (await admin.get('/api/openapi.json').expect(200)).body as OpenApiDocument;
    const endpoint = await admin
      .post('/api/endpoints')
      .send({ url: 'https://sweep.example.com', traffic_policy: DENY_ALL_POLICY })
      .expect(201);
    realParams.id = (endpoint.body as { id: string }).id;
    await admin.post('/api/vaults').send({ name: 'sweep' }).expect(201);
    realParams.vault = 'sweep';
    realParams.name = 'token';
    await admin.put('/api/vaults/sweep/secrets/token').send({ value: 'secret-value' }).expect(201);
  });
  afterAll(async () => {
    await testApp?.close();
  });

  function operations(): { method: Method; path: string; operation: Operation }[] {
    return Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({ method: method as Method, path, operation })),
    );
  }

  /** Data-plane routes take the data-plane token; every other route the admin's session. */
  function send(method: Method, path: string): ReturnType<TestAgent['get']> {
    if (!path.startsWith('/api/dataplane/')) return admin[method](path).timeout({ response: 10_000 });
    const client = testApp.http();
    return client[method](path)
      .set('authorization', `Bearer ${testApp.env.GATEHOUSE_DATAPLANE_TOKEN}`)
      .timeout({ response: 10_000 });
  }

  /** A streaming route that accepted the query never ends; a short deadline stands for "accepted". */
  async function probeStream(path: string): Promise<Response | 'streaming'> {
    try {
      return await admin.get(path).timeout({ deadline: 1_500 });
    } catch (error) {
      if ((error as { timeout?: unknown }).timeout) return 'streaming';
      throw error;
    }
  }

  it('documents every route Express serves (so the sweep sees them all)', () => {
    const express = testApp.app.getHttpAdapter().getInstance() as {
      router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
    };
    const served = express.router.stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((method) => method !== '_all')
            .map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`)
        : [],
    );
    const documented = new Set(operations().map(({ method, path }) => routeKey(method, path)));
    const undocumented = served.filter((route) => !route.includes('/api/docs') && !route.endsWith('openapi.json'));
    expect(undocumented.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('answers malformed path parameters with a 4xx', { timeout: 120_000 }, async () => {
    let checked = 0;
    for (const { method, path } of operations()) {
      const key = routeKey(method, path);
      if (!path.includes('{') || SKIPPED.has(key) || STREAMING.has(key)) continue;
      for (const value of BAD_PATH_VALUES) {
        const concrete = path.replace(/\{(\w+)\}/g, value);
        const response = await send(method, concrete).send({});
        expectHandled(response, `${key} with ${JSON.stringify(value.slice(0, 20))}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('answers bodies that are not what the route documents with a 4xx', { timeout: 120_000 }, async () => {
    let checked = 0;
    for (const { method, path, operation } of operations()) {
      const key = routeKey(method, path);
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      if (!schema || SKIPPED.has(key)) continue;
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => realParams[name] ?? 'x');
      for (const raw of RAW_BODIES) {
        const response = await send(method, concrete).set('content-type', 'application/json').send(raw);
        expectHandled(response, `${key} with body ${raw.slice(0, 20)}`);
      }
      for (const [field, property] of Object.entries(propertiesOf(document, schema))) {
        for (const wrong of wrongValues(document, property)) {
          const response = await send(method, concrete).send({ [field]: wrong });
          expectHandled(response, `${key} with ${field}=${JSON.stringify(wrong).slice(0, 30)}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('answers nonsense query values with a 4xx', { timeout: 300_000 }, async () => {
    let checked = 0;
    for (const { method, path, operation } of operations()) {
      const key = routeKey(method, path);
      const names = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((p) => p.name);
      if (names.length === 0 || SKIPPED.has(key)) continue;
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => realParams[name] ?? 'x');
      for (const name of names) {
        // The same parameter twice arrives as an array, which a validator written for strings may not expect.
        const queries = [...BAD_QUERY_VALUES.map((value) => `${name}=${value}`), `${name}=1&${name}=2`];
        for (const query of queries) {
          const url = `${concrete}?${query}`;
          const response = STREAMING.has(key) ? await probeStream(url) : await send(method, url);
          if (response !== 'streaming') expectHandled(response, `${key} with ?${query.slice(0, 40)}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});
