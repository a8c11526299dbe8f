import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CreateUserBody,
  type UpdateUserBody,
  UserListResponseSchema,
  UserResponseSchema,
} from '../src/users/users.dto';
import { AuditEventListResponseSchema } from '../src/audit-events/audit-events.dto';
import { MeResponseSchema } from '../src/auth/auth.dto';
import { ADMIN, createTestApp, resetState, setupAdmin, type TestApp } from './test-app';
import { bodyOf, errorOf } from './http';

describe('users', () => {
  let testApp: TestApp;
  let admin: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp);
    admin = await setupAdmin(testApp);
  });

  it('creates, lists, updates and deletes users', async () => {
    const created = await admin
      .post('/api/users')
      .send({ email: 'Viewer@Example.com', password: 'viewer-password-1', role: 'viewer' } satisfies CreateUserBody)
      .expect(201);
    expect(created.body).toMatchObject({ email: 'viewer@example.com', role: 'viewer' });
    expect(created.body).not.toHaveProperty('password_hash');
    const id = bodyOf(created, UserResponseSchema).id;

    const list = await admin.get('/api/users?limit=1').expect(200);
    expect(bodyOf(list, UserListResponseSchema).users).toHaveLength(1);
    expect(bodyOf(list, UserListResponseSchema).next_page_uri).toMatch(/^\/api\/users\?limit=1&before_id=usr_/);

    const promoted = await admin
      .patch(`/api/users/${id}`)
      .send({ role: 'editor' } satisfies UpdateUserBody)
      .expect(200);
    expect(bodyOf(promoted, UserResponseSchema).role).toBe('editor');

    // A password change ends the user's sessions.
    const session = testApp.http();
    await session
      .post('/api/auth/login')
      .send({ email: 'viewer@example.com', password: 'viewer-password-1' })
      .expect(200);
    await admin
      .patch(`/api/users/${id}`)
      .send({ password: 'another-password-2' } satisfies UpdateUserBody)
      .expect(200);
    await session.get('/api/auth/me').expect(401);

    await admin.delete(`/api/users/${id}`).expect(204);
    const missing = await admin.get(`/api/users/${id}`).expect(404);
    expect(errorOf(missing).error_code).toBe('USER_NOT_FOUND');
    const audit = await admin.get(`/api/audit-events?entity_id=${id}`).expect(200);
    expect(
      bodyOf(audit, AuditEventListResponseSchema).audit_events.map((event: { kind: string }) => event.kind),
    ).toEqual(['user.deleted', 'user.password_changed', 'user.updated', 'user.created']);
    expect(JSON.stringify(audit.body)).not.toMatch(/scrypt/);
  });

  it('refuses duplicate emails, bad roles and removing the last admin', async () => {
    const duplicate = await admin
      .post('/api/users')
      .send({
        email: ADMIN.email.toUpperCase(),
        password: 'another-password-1',
        role: 'viewer',
      } satisfies CreateUserBody)
      .expect(409);
    expect(errorOf(duplicate).error_code).toBe('USER_EMAIL_TAKEN');
    await admin
      .post('/api/users')
      .send({ email: 'x@example.com', password: 'another-password-1', role: 'root' })
      .expect(400);

    const me = await admin.get('/api/auth/me').expect(200);
    const adminId = bodyOf(me, MeResponseSchema).id;
    const demote = await admin
      .patch(`/api/users/${adminId}`)
      .send({ role: 'viewer' } satisfies UpdateUserBody)
      .expect(409);
    expect(errorOf(demote).error_code).toBe('LAST_ADMIN');
    const remove = await admin.delete(`/api/users/${adminId}`).expect(409);
    expect(errorOf(remove).error_code).toBe('LAST_ADMIN');
    await admin
      .patch('/api/users/usr_unknown')
      .send({ role: 'viewer' } satisfies UpdateUserBody)
      .expect(404);
  });
});
