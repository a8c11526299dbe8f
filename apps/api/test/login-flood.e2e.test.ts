// Issue 12, item 5: a flood of logins with distinct, unknown emails must not buy unlimited password hashing (each
// attempt is a 32 MiB scrypt on libuv's pool). Before the fix the limiter keyed on (IP, email) only, so every new email
// was a fresh budget: all 200 attempts below were hashed and answered 401, and the rest of the API stalled behind them.
import type { Response } from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LoginBody } from '../src/auth/auth.dto';
import { LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW, LOGIN_ATTEMPTS_PER_WINDOW } from '../src/auth/login-rate-limiter';
import { errorOf } from './http';
import { ADMIN, createTestApp, resetState, setupAdmin, type TestApp } from './test-app';

const FLOOD = 200;
/** Each attempt that passes the limiter costs a real scrypt: generous for a loaded 2-core CI machine, never a timing assertion. */
const HASHING_TIMEOUT_MS = 180_000;

function attempt(testApp: TestApp, index: number, headers: Record<string, string> = {}) {
  return testApp
    .http()
    .post('/api/auth/login')
    .set(headers)
    .send({ email: `nobody-${index}@example.com`, password: 'not-the-password-1' } satisfies LoginBody);
}

function countBy(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

describe.each([
  { shape: 'distributed (counters in Redis)', env: {} },
  { shape: 'embedded (counters in process, no Redis)', env: { REDIS_URL: '' } },
])('login flood — $shape', ({ env }) => {
  let testApp: TestApp;
  // A fresh app per test: the in-process counters of the embedded variant live as long as the app.
  beforeEach(async () => {
    testApp = await createTestApp(env);
    await resetState(testApp);
  });
  afterEach(async () => {
    await testApp.close();
  });

  it(
    'answers 429 after the per-address budget across distinct emails, while other routes keep answering',
    async () => {
      const admin = await setupAdmin(testApp);
      const finished: string[] = [];
      // Spoofed X-Forwarded-For from an untrusted peer (no GATEHOUSE_TRUSTED_PROXIES): ignored, so no way out.
      const flood = Promise.all(
        Array.from({ length: FLOOD }, (_, index) =>
          attempt(testApp, index, { 'x-forwarded-for': `198.51.100.${index % 250}` }).then((response) => {
            finished.push('login');
            return response;
          }),
        ),
      );
      // While the flood is in flight: health (public) and an authenticated read both answer.
      const [health, users] = await Promise.all([
        testApp
          .http()
          .get('/api/health')
          .then((response) => {
            finished.push('health');
            return response;
          }),
        admin.get('/api/users').then((response) => {
          finished.push('users');
          return response;
        }),
      ]);
      expect(health.status).toBe(200);
      expect(users.status).toBe(200);
      const responses = await flood;

      const counts = countBy(responses);
      // Exactly the address budget reached the password check (401, or 503 when the hashing queue was full); every
      // other attempt was refused before any hashing.
      expect(counts[429]).toBe(FLOOD - LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW);
      expect((counts[401] ?? 0) + (counts[503] ?? 0)).toBe(LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW);
      expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['401', '429']));
      for (const response of responses.filter((each) => each.status === 429 || each.status === 503)) {
        expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(errorOf(response).error_code).toBe(
          response.status === 429 ? 'LOGIN_RATE_LIMITED' : 'PASSWORD_HASHING_BUSY',
        );
      }
      // Ordering, not timing: the two reads did not wait for the flood to drain.
      expect(finished.indexOf('health')).toBeLessThan(finished.lastIndexOf('login'));
      expect(finished.indexOf('users')).toBeLessThan(finished.lastIndexOf('login'));

      // The right password from the same address is also refused for the rest of the window (the budget is the
      // address's, whatever the email), and the admin's existing session is unaffected.
      await testApp.http().post('/api/auth/login').send(ADMIN).expect(429);
      await admin.get('/api/auth/me').expect(200);
    },
    HASHING_TIMEOUT_MS,
  );

  it(
    'keeps the per-account limit within the address budget',
    async () => {
      await setupAdmin(testApp);
      const statuses: number[] = [];
      for (let index = 0; index <= LOGIN_ATTEMPTS_PER_WINDOW; index += 1) {
        const response = await testApp
          .http()
          .post('/api/auth/login')
          .send({ email: ADMIN.email, password: 'not-the-password-1' } satisfies LoginBody);
        statuses.push(response.status);
      }
      expect(statuses.slice(0, LOGIN_ATTEMPTS_PER_WINDOW).every((status) => status === 401)).toBe(true);
      expect(statuses.at(-1)).toBe(429);
      // Another account from the same address still has its own attempts (the address budget is larger).
      await attempt(testApp, 1).expect(401);
    },
    HASHING_TIMEOUT_MS,
  );
});

describe('login flood behind a trusted proxy', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32,::1/128' });
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp);
    await setupAdmin(testApp);
  });

  it(
    'counts the client address the proxy reports, so one client cannot use up everyone’s budget',
    async () => {
      const flood = await Promise.all(
        Array.from({ length: LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW + 5 }, (_, index) =>
          attempt(testApp, index, { 'x-forwarded-for': '203.0.113.9' }),
        ),
      );
      expect(countBy(flood)[429]).toBe(5);
      // Another client behind the same proxy is not affected.
      await attempt(testApp, 0, { 'x-forwarded-for': '203.0.113.10' }).expect(401);
    },
    HASHING_TIMEOUT_MS,
  );

  it(
    'counts an IPv6 client by its /64: rotating the interface id does not reset the budget',
    async () => {
      const flood = await Promise.all(
        Array.from({ length: LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW + 5 }, (_, index) =>
          attempt(testApp, index, { 'x-forwarded-for': `2001:db8:1:2::${(index + 1).toString(16)}` }),
        ),
      );
      expect(countBy(flood)[429]).toBe(5);
      // A different /64 is a different client.
      await attempt(testApp, 0, { 'x-forwarded-for': '2001:db8:1:3::1' }).expect(401);
      // (IPv4-mapped addresses and the /64 arithmetic itself: src/auth/client-address.test.ts.)
    },
    HASHING_TIMEOUT_MS,
  );
});
