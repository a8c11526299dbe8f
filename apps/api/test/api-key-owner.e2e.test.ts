// Issue 12, item 9: an API key must not outlive its owner's role. Before the fix a key kept the role it was created
// with after its owner was demoted, and kept working (ownerless) after its owner was deleted.
import type { Agent as TestAgent, Test } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyListResponseSchema, CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import type { CreateUserBody, UpdateUserBody } from '../src/users/users.dto';
import { bodyOf } from './http';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1234' };
const internalEndpoint = (host: string) => ({
  url: `https://${host}.example.internal`,
  type: 'internal',
  upstream_url: 'http://127.0.0.1:3333',
});

describe('API keys follow their owner', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let ownerId: string;
  let ownerSession: TestAgent;

  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    const created = await admin
      .post('/api/users')
      .send({ ...OWNER, role: 'admin' } satisfies CreateUserBody)
      .expect(201);
    ownerId = (created.body as { id: string }).id;
    ownerSession = testApp.http();
    await ownerSession.post('/api/auth/login').send(OWNER).expect(200);
  });

  const asKey = (secret: string) => ({
    get: (path: string) => testApp.http().get(path).set('authorization', `Bearer ${secret}`),
    post: (path: string, body: object) => testApp.http().post(path).set('authorization', `Bearer ${secret}`).send(body),
  });

  type Poster = (path: string, body: object) => Test;
  const bySession =
    (agent: TestAgent): Poster =>
    (path, body) =>
      agent.post(path).send(body);

  async function mintKey(post: Poster, role: string): Promise<{ id: string; secret: string }> {
    const response = await post('/api/api-keys', { description: `${role} key`, role }).expect(201);
    const created = bodyOf(response, CreatedApiKeyResponseSchema);
    return { id: created.id, secret: created.secret };
  }

  async function auditKinds(entityId: string): Promise<string[]> {
    const rows = await testApp.db.query<{ kind: string }>(
      'SELECT kind FROM audit_events WHERE entity_id = $1 ORDER BY id',
      [entityId],
    );
    return rows.rows.map((row) => row.kind);
  }

  it("caps a key at its owner's current role on every request, and lifts the cap with a promotion", async () => {
    const key = await mintKey(bySession(ownerSession), 'admin');
    await asKey(key.secret).get('/api/api-keys').expect(200);

    await admin
      .patch(`/api/users/${ownerId}`)
      .send({ role: 'viewer' } satisfies UpdateUserBody)
      .expect(200);
    // The very next request: the key acts as a viewer.
    const me = await asKey(key.secret).get('/api/auth/me').expect(200);
    expect(me.body).toMatchObject({ type: 'api_key', role: 'viewer' });
    await asKey(key.secret).get('/api/api-keys').expect(403);
    const denied = await asKey(key.secret).post('/api/endpoints', internalEndpoint('capped')).expect(403);
    expect((denied.body as { error_code: string }).error_code).toBe('FORBIDDEN');
    await asKey(key.secret).get('/api/endpoints').expect(200);

    // The admin sees both the key's own role and what it acts with; the audit log shows the demotion reaching it.
    const listed = bodyOf(await admin.get('/api/api-keys').expect(200), ApiKeyListResponseSchema).api_keys;
    expect(listed.find((each) => each.id === key.id)).toMatchObject({
      role: 'admin',
      effective_role: 'viewer',
      created_by: ownerId,
    });
    expect(await auditKinds(key.id)).toEqual(['api_key.created', 'api_key.effective_role_changed']);
    const event = await testApp.db.query<{ before: { effective_role: string }; after: { effective_role: string } }>(
      "SELECT before, after FROM audit_events WHERE kind = 'api_key.effective_role_changed'",
    );
    expect(event.rows[0]).toMatchObject({ before: { effective_role: 'admin' }, after: { effective_role: 'viewer' } });

    // Promoted to editor: the key acts as an editor (never above its own role, never above its owner's).
    await admin
      .patch(`/api/users/${ownerId}`)
      .send({ role: 'editor' } satisfies UpdateUserBody)
      .expect(200);
    await asKey(key.secret).post('/api/endpoints', internalEndpoint('editor')).expect(201);
    await asKey(key.secret).get('/api/api-keys').expect(403);
  });

  it("does not widen a key beyond its own role when its owner's role is higher", async () => {
    const key = await mintKey(bySession(ownerSession), 'viewer');
    const me = await asKey(key.secret).get('/api/auth/me').expect(200);
    expect(me.body).toMatchObject({ role: 'viewer' });
    await asKey(key.secret).post('/api/endpoints', internalEndpoint('viewer')).expect(403);
  });

  it("revokes a deleted user's keys, also keys minted by their keys, with an audit event each", async () => {
    const key = await mintKey(bySession(ownerSession), 'admin');
    // A key minted by the owner's key belongs to the owner too (not to nobody).
    const minted = await mintKey(asKey(key.secret).post, 'editor');
    const listed = bodyOf(await admin.get('/api/api-keys').expect(200), ApiKeyListResponseSchema).api_keys;
    expect(listed.find((each) => each.id === minted.id)?.created_by).toBe(ownerId);
    const adminsKey = await mintKey(bySession(admin), 'editor');

    await admin.delete(`/api/users/${ownerId}`).expect(204);

    await asKey(key.secret).get('/api/auth/me').expect(401);
    await asKey(minted.secret).get('/api/auth/me').expect(401);
    await asKey(key.secret).post('/api/endpoints', internalEndpoint('gone')).expect(401);
    // Other users' keys are untouched.
    await asKey(adminsKey.secret).get('/api/auth/me').expect(200);
    const remaining = await testApp.db.query<{ id: string }>('SELECT id FROM api_keys');
    expect(remaining.rows.map((row) => row.id)).toEqual([adminsKey.id]);
    expect(await auditKinds(key.id)).toEqual(['api_key.created', 'api_key.revoked']);
    expect(await auditKinds(minted.id)).toEqual(['api_key.created', 'api_key.revoked']);
    const revokedBy = await testApp.db.query<{ actor_name: string }>(
      "SELECT actor_name FROM audit_events WHERE kind = 'api_key.revoked'",
    );
    expect(revokedBy.rows.every((row) => row.actor_name === 'admin@example.com')).toBe(true);
  });
});
