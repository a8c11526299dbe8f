import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.factory';
import { createLogger } from '../src/common/logger';
import { parseEnv } from '../src/env';
import { buildOpenApiDocument } from '../src/openapi/openapi';
import { serializeOpenApiDocument } from '../src/openapi/openapi-file';
import type { INestApplication } from '@nestjs/common';

const COMMITTED = path.join(__dirname, '../openapi.json');
const PUBLIC_OPERATIONS = new Set([
  'get /api/health',
  'get /api/auth/setup',
  'post /api/auth/setup',
  'post /api/auth/login',
]);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('OpenAPI document', () => {
  let app: INestApplication;
  let document: OpenAPIObject;
  beforeAll(async () => {
    const env = parseEnv({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/unused',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'silent',
    });
    app = await createApp(env, createLogger('silent'));
    document = buildOpenApiDocument(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('matches the committed apps/api/openapi.json (run `npm run openapi -w @gatehouse/api` after changing routes)', () => {
    expect(serializeOpenApiDocument(document) === readFileSync(COMMITTED, 'utf8'), 'openapi.json is stale').toBe(true);
  });

  it('gives every operation an auth requirement, a success schema and documented errors', () => {
    let operations = 0;
    for (const [route, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        operations += 1;
        const key = `${method} ${route}`;
        expect(operation.summary, key).toBeTruthy();
        const security = operation.security ?? [];
        if (PUBLIC_OPERATIONS.has(key)) {
          expect(
            security.every((requirement) => Object.keys(requirement).length === 0),
            key,
          ).toBe(true);
        } else {
          expect(security.length, key).toBeGreaterThan(0);
          expect(Object.keys(operation.responses), key).toContain('401');
        }
        const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
        expect(success.length, key).toBeGreaterThan(0);
        for (const [status, response] of success) {
          if (status === '204') continue;
          expect((response as { content?: unknown }).content, `${key} ${status}`).toBeDefined();
        }
        if (method === 'post' || method === 'put' || method === 'patch') {
          const bodyless = key.endsWith('/logout');
          if (!bodyless) expect(operation.requestBody, key).toBeDefined();
        }
      }
    }
    expect(operations).toBeGreaterThan(30);
  });

  it('names every operation after its handler, uniquely', () => {
    const ids = Object.values(document.paths).flatMap((item) =>
      METHODS.flatMap((method) => (item[method]?.operationId ? [item[method].operationId] : [])),
    );
    expect(ids).toContain('createEndpoint');
    expect(ids).toContain('restorePolicyVersion');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes policy text with the engine JSON Schema', () => {
    const schemas = document.components?.schemas ?? {};
    const policyDocument = schemas.TrafficPolicyDocument as { type: string; properties: Record<string, unknown> };
    expect(policyDocument.type).toBe('object');
    expect(Object.keys(policyDocument.properties)).toContain('on_http_request');
    const body = schemas.CreateEndpointBody as { properties: Record<string, Record<string, unknown>> };
    expect(body.properties.traffic_policy?.['x-policy-document-schema']).toEqual({
      $ref: '#/components/schemas/TrafficPolicyDocument',
    });
  });
});
