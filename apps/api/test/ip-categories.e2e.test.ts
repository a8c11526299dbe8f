import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CreateIpCategoryBody,
  IpCategoryListResponseSchema,
  IpCategoryResponseSchema,
  type PutIpCategoryBody,
} from '../src/ip-categories/ip-categories.dto';
import { AuditEventListResponseSchema } from '../src/audit-events/audit-events.dto';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { bodyOf, errorOf } from './http';

describe('ip categories', () => {
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

  it('lists the built-ins with their published ranges', async () => {
    const response = await editor.get('/api/ip-categories').expect(200);
    expect(bodyOf(response, IpCategoryListResponseSchema).next_page_uri).toBeNull();
    expect(bodyOf(response, IpCategoryListResponseSchema).ip_categories).toContainEqual(
      expect.objectContaining({
        name: 'com.anthropic.api',
        cidrs: ['160.79.104.0/21', '2607:6bc0::/48'],
        builtin: true,
      }),
    );
    await editor.get('/api/ip-categories/com.anthropic.api').expect(200);
  });

  it('creates, replaces and deletes a custom category with audit events', async () => {
    const created = await editor
      .put('/api/ip-categories/com.example.office')
      .send({
        cidrs: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7', '203.0.113.0/24'],
        description: 'HQ',
      } satisfies PutIpCategoryBody)
      .expect(200);
    expect(created.body).toMatchObject({
      name: 'com.example.office',
      cidrs: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
      description: 'HQ',
      builtin: false,
    });
    const replaced = await editor
      .put('/api/ip-categories/com.example.office')
      .send({ cidrs: ['203.0.113.0/25'] } satisfies PutIpCategoryBody)
      .expect(200);
    expect(replaced.body).toMatchObject({ cidrs: ['203.0.113.0/25'], description: '' });
    await editor.delete('/api/ip-categories/com.example.office').expect(204);
    const missing = await editor.get('/api/ip-categories/com.example.office').expect(404);
    expect(errorOf(missing).error_code).toBe('IP_CATEGORY_NOT_FOUND');
    await editor.delete('/api/ip-categories/com.example.office').expect(404);
    const audit = await editor.get('/api/audit-events?entity_id=com.example.office').expect(200);
    expect(
      bodyOf(audit, AuditEventListResponseSchema).audit_events.map((event: { kind: string }) => event.kind),
    ).toEqual(['ip_category.deleted', 'ip_category.updated', 'ip_category.created']);
  });

  it('creates with POST and refuses a taken name instead of replacing it (issue 19)', async () => {
    const created = await editor
      .post('/api/ip-categories')
      .send({ name: 'com.example.office', cidrs: ['203.0.113.0/24'], description: 'HQ' } satisfies CreateIpCategoryBody)
      .expect(201);
    expect(created.body).toMatchObject({ name: 'com.example.office', cidrs: ['203.0.113.0/24'], description: 'HQ' });
    const again = await editor
      .post('/api/ip-categories')
      .send({ name: 'com.example.office', cidrs: ['198.51.100.0/24'] } satisfies CreateIpCategoryBody)
      .expect(409);
    expect(errorOf(again).error_code).toBe('IP_CATEGORY_EXISTS');
    expect(errorOf(again).message).toMatch(/com\.example\.office already exists/);
    const builtin = await editor
      .post('/api/ip-categories')
      .send({ name: 'com.anthropic.api', cidrs: ['0.0.0.0/0'] } satisfies CreateIpCategoryBody)
      .expect(409);
    expect(errorOf(builtin).error_code).toBe('IP_CATEGORY_EXISTS');
    const kept = await editor.get('/api/ip-categories/com.example.office').expect(200);
    expect(bodyOf(kept, IpCategoryResponseSchema)).toMatchObject({ cidrs: ['203.0.113.0/24'], description: 'HQ' });
    const audit = await editor.get('/api/audit-events?entity_id=com.example.office').expect(200);
    expect(bodyOf(audit, AuditEventListResponseSchema).audit_events.map((event) => event.kind)).toEqual([
      'ip_category.created',
    ]);
    const badCidr = await editor
      .post('/api/ip-categories')
      .send({ name: 'com.example.lab', cidrs: ['10.0.0.0/8', '10.0.0.0/33'] } satisfies CreateIpCategoryBody)
      .expect(400);
    expect(errorOf(badCidr).details.map((detail) => detail.path)).toEqual(['cidrs.1']);
  });

  it('keeps built-ins read-only', async () => {
    const put = await editor
      .put('/api/ip-categories/com.anthropic.api')
      .send({ cidrs: ['0.0.0.0/0'] } satisfies PutIpCategoryBody)
      .expect(403);
    expect(errorOf(put).error_code).toBe('IP_CATEGORY_BUILTIN');
    const removed = await editor.delete('/api/ip-categories/com.anthropic.api').expect(403);
    expect(errorOf(removed).error_code).toBe('IP_CATEGORY_BUILTIN');
    const after = await editor.get('/api/ip-categories/com.anthropic.api').expect(200);
    expect(bodyOf(after, IpCategoryResponseSchema).cidrs).toEqual(['160.79.104.0/21', '2607:6bc0::/48']);
  });

  it('rejects bad names and bad CIDRs', async () => {
    const badCidr = await editor
      .put('/api/ip-categories/office')
      .send({
        cidrs: ['10.0.0.0/33', 'not-an-ip', '::1/129', 'fe80::1%eth0/64', '01.2.3.4'],
      } satisfies PutIpCategoryBody)
      .expect(400);
    // A zone id or a leading-zero octet would be stored but never match: the engine that matches client IPs rejects them.
    expect(errorOf(badCidr).details.map((detail) => detail.path)).toEqual([
      'cidrs.0',
      'cidrs.1',
      'cidrs.2',
      'cidrs.3',
      'cidrs.4',
    ]);
    const badName = await editor
      .put('/api/ip-categories/Bad%20Name')
      .send({ cidrs: [] } satisfies PutIpCategoryBody)
      .expect(400);
    expect(errorOf(badName).error_code).toBe('VALIDATION_FAILED');
  });
});
