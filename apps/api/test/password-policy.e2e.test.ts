// Issue 12, item 13 (passwords): before the fix a whitespace-only password of 12 spaces and `password1234` were
// accepted for the first admin, new users and password changes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SetupBody } from '../src/auth/auth.dto';
import type { CreateUserBody, UpdateUserBody } from '../src/users/users.dto';
import { errorOf } from './http';
import { ADMIN, createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

const WHITESPACE_ONLY = ' \t            ';
const COMMON = ['password1234', 'QWERTY123456', 'monkey12345678!'];

describe('password rules', () => {
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

  it('refuses a whitespace-only or common password at first-run setup, and creates no one', async () => {
    const blank = await testApp
      .http()
      .post('/api/auth/setup')
      .send({ email: ADMIN.email, password: WHITESPACE_ONLY } satisfies SetupBody)
      .expect(400);
    expect(errorOf(blank)).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'password' }] });
    for (const password of COMMON) {
      const common = await testApp.http().post('/api/auth/setup').send({ email: ADMIN.email, password }).expect(400);
      expect(errorOf(common), password).toMatchObject({
        error_code: 'PASSWORD_TOO_COMMON',
        details: [{ path: 'password' }],
      });
    }
    await testApp.http().get('/api/auth/setup').expect(200, { setup_required: true });
  });

  it('refuses them when creating a user and when changing a password, and changes nothing', async () => {
    const admin = await setupAdmin(testApp);
    const blank = await admin
      .post('/api/users')
      .send({ email: 'u@example.com', password: WHITESPACE_ONLY, role: 'viewer' } satisfies CreateUserBody)
      .expect(400);
    expect(errorOf(blank).error_code).toBe('VALIDATION_FAILED');
    const common = await admin
      .post('/api/users')
      .send({ email: 'u@example.com', password: 'password1234', role: 'viewer' } satisfies CreateUserBody)
      .expect(400);
    expect(errorOf(common).error_code).toBe('PASSWORD_TOO_COMMON');

    const me = (await admin.get('/api/auth/me').expect(200)).body as { id: string };
    const change = await admin
      .patch(`/api/users/${me.id}`)
      .send({ password: 'Password1234' } satisfies UpdateUserBody)
      .expect(400);
    expect(errorOf(change).error_code).toBe('PASSWORD_TOO_COMMON');
    await admin
      .patch(`/api/users/${me.id}`)
      .send({ password: WHITESPACE_ONLY } satisfies UpdateUserBody)
      .expect(400);

    // Nothing was written: one user, the old password still works, no audit event beyond setup.
    const users = await testApp.db.query('SELECT id FROM users');
    expect(users.rowCount).toBe(1);
    await testApp.http().post('/api/auth/login').send(ADMIN).expect(200);
    const kinds = await testApp.db.query<{ kind: string }>('SELECT kind FROM audit_events');
    expect(kinds.rows.map((row) => row.kind)).toEqual(['user.setup']);
  });
});
