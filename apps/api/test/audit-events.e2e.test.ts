import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import {
  type AuditEventListResponse,
  AuditEventListResponseSchema,
  type AuditEventResponse,
} from '../src/audit-events/audit-events.dto';
import { EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { bodyOf } from './http';
import { DENY_ALL_POLICY, WALKTHROUGH_POLICY } from './policies';
import { ADMIN, createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

/** Change audit (issue 5 §5): every mutating route leaves an event with its actor, before and after. */
describe('change audit covers every mutation', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  const all = async (query = ''): Promise<AuditEventResponse[]> => {
    const found: AuditEventResponse[] = [];
    let uri: string | null = `/api/audit-events?limit=7${query}`;
    while (uri) {
      const response: { body: unknown } = await admin.get(uri).expect(200);
      const page: AuditEventListResponse = bodyOf(response, AuditEventListResponseSchema);
      found.push(...page.audit_events);
      uri = page.next_page_uri;
    }
    return found;
  };

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('records actor, before and after for each kind, and filters by actor, kind, entity_id and time', async () => {
    const started = new Date(Date.now() - 1_000).toISOString();
    // Users.
    const user = await admin
      .post('/api/users')
      .send({ email: 'audited@example.com', password: 'a-long-password-1', role: 'viewer' })
      .expect(201);
    const userId = (user.body as { id: string }).id;
    await admin.patch(`/api/users/${userId}`).send({ role: 'editor' }).expect(200);
    await admin.patch(`/api/users/${userId}`).send({ password: 'another-long-password' }).expect(200);
    // API keys: the key then acts, and is named as the actor.
    const key = bodyOf(
      await admin.post('/api/api-keys').send({ description: 'automation', role: 'editor' }).expect(201),
      CreatedApiKeyResponseSchema,
    );
    // IP categories.
    await admin
      .put('/api/ip-categories/office')
      .send({ cidrs: ['10.0.0.0/8'] })
      .expect(200);
    await admin
      .put('/api/ip-categories/office')
      .send({ cidrs: ['10.0.0.0/8', '192.168.0.0/16'] })
      .expect(200);
    await admin.delete('/api/ip-categories/office').expect(204);
    // Endpoints and policies, created by the API key.
    const created = await testApp
      .http()
      .post('/api/endpoints')
      .set('authorization', `Bearer ${key.secret}`)
      .send({ url: 'https://audit.example.com', traffic_policy: DENY_ALL_POLICY })
      .expect(201);
    const endpoint = bodyOf(created, EndpointResponseSchema);
    await admin.patch(`/api/endpoints/${endpoint.id}`).send({ description: 'changed' }).expect(200);
    await admin
      .post('/api/endpoints')
      .send({ url: 'https://mcp.example.internal', type: 'internal', upstream_url: 'http://127.0.0.1:3333' })
      .expect(201);
    await admin
      .post(`/api/endpoints/${endpoint.id}/policy-versions`)
      .send({ traffic_policy: WALKTHROUGH_POLICY, message: 'v2' })
      .expect(201);
    await admin.post(`/api/endpoints/${endpoint.id}/policy-versions/1/restore`).send({}).expect(201);
    await admin.delete(`/api/endpoints/${endpoint.id}`).expect(204);
    await admin.delete(`/api/api-keys/${key.id}`).expect(204);
    await admin.delete(`/api/users/${userId}`).expect(204);

    const events = await all();
    const kinds = events.map((event) => event.kind);
    for (const kind of [
      'user.setup',
      'user.created',
      'user.updated',
      'user.password_changed',
      'user.deleted',
      'api_key.created',
      'api_key.deleted',
      'ip_category.created',
      'ip_category.updated',
      'ip_category.deleted',
      'endpoint.created',
      'endpoint.updated',
      'endpoint.deleted',
      'policy.version_created',
      'policy.restored',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    for (const event of events) {
      expect(event.actor.name, event.kind).toBeTruthy();
      const created =
        event.kind.endsWith('.created') || event.kind === 'user.setup' || event.kind === 'policy.version_created';
      const deleted = event.kind.endsWith('.deleted');
      if (!created) expect(event.before, `${event.kind} before`).not.toBeNull();
      if (!deleted) expect(event.after, `${event.kind} after`).not.toBeNull();
      // Secrets never enter the audit log.
      expect(JSON.stringify(event), event.kind).not.toMatch(
        /password_hash|secret_hash|a-long-password|another-long-password/,
      );
      expect(JSON.stringify(event), event.kind).not.toContain(key.secret);
    }
    // Entities are named for people, not by id — also once deleted (from the recorded snapshot).
    const labelsOf = (entityId: string) =>
      new Set(events.filter((event) => event.entity_id === entityId).map((event) => event.entity_label));
    expect(labelsOf(userId)).toEqual(new Set(['audited@example.com']));
    expect(labelsOf(key.id)).toEqual(new Set([`${key.prefix}… (automation)`]));
    const endpointLabels = events
      .filter((event) => event.entity_id === endpoint.id && event.kind.startsWith('endpoint.'))
      .map((event) => event.entity_label);
    expect(new Set(endpointLabels)).toEqual(new Set(['https://audit.example.com']));
    const updated = events.find((event) => event.kind === 'ip_category.updated')!;
    expect(updated.before).toMatchObject({ cidrs: ['10.0.0.0/8'] });
    expect(updated.after).toMatchObject({ cidrs: ['10.0.0.0/8', '192.168.0.0/16'] });

    // Filters: actor (the API key by id and by name), kind, entity_id, from/to.
    const byKey = await all(`&actor=${encodeURIComponent(key.id)}`);
    expect(byKey.map((event) => event.kind).sort()).toEqual(['endpoint.created', 'policy.version_created']);
    expect(byKey.every((event) => event.actor.type === 'api_key')).toBe(true);
    const byKeyName = await all(`&actor=${encodeURIComponent(byKey[0]!.actor.name)}`);
    expect(byKeyName).toHaveLength(2);
    const byAdmin = await all(`&actor=${encodeURIComponent(ADMIN.email)}`);
    expect(byAdmin.map((event) => event.id)).toEqual(
      events.filter((event) => event.actor.name === ADMIN.email).map((event) => event.id),
    );
    expect(byAdmin.length).toBeGreaterThanOrEqual(12);
    expect((await all('&kind=policy.restored')).map((event) => event.entity_id)).toEqual([endpoint.id]);
    const forEndpoint = await all(`&entity_id=${endpoint.id}`);
    expect(forEndpoint.map((event) => event.kind)).toEqual([
      'endpoint.deleted',
      'policy.restored',
      'policy.version_created',
      'endpoint.updated',
      'policy.version_created',
      'endpoint.created',
    ]);
    expect(await all(`&from=${encodeURIComponent(started)}`)).toHaveLength(events.length);
    expect(await all(`&to=${encodeURIComponent(started)}`)).toHaveLength(0);
    const middle = events[Math.floor(events.length / 2)]!.created_at;
    const older = await all(`&to=${encodeURIComponent(middle)}`);
    const newer = await all(`&from=${encodeURIComponent(middle)}`);
    expect(older.length + newer.length).toBe(events.length);
    // `before` (DESIGN.md §5) is the cursor alias of before_id.
    const afterFirst = await all(`&before=${events[0]!.id}`);
    expect(afterFirst.map((event) => event.id)).toEqual(events.slice(1).map((event) => event.id));
  });
});
